//! The profile page's editing state and its tables: each list a table of plain inputs, its
//! rows added, removed and moved with buttons, each cell marked where a save found it wrong.
//! Rows carry their own signals, so typing in one re-renders nothing else and keeps focus.

use leptos::prelude::*;

use crate::model::{
    profile_sheets::{ProfileEditor, ProfileSaved, Sheet, Sheets, BASICS},
    FieldProblem,
};

#[derive(Clone, Copy)]
struct Row {
    key: u64,
    cells: RwSignal<Vec<String>>,
}

/// What the page holds of the profile being edited.
#[derive(Clone, Copy)]
pub struct Editor {
    pub revision: RwSignal<i64>,
    /// Changed since the last save.
    pub dirty: RwSignal<bool>,
    /// What the last save found wrong.
    pub problems: RwSignal<Vec<FieldProblem>>,
    pub categories: StoredValue<Vec<String>>,
    grading: StoredValue<String>,
    levels: RwSignal<Vec<String>>,
    basics: StoredValue<Vec<(String, RwSignal<String>)>>,
    lists: StoredValue<Vec<(Sheet, RwSignal<Vec<Row>>)>>,
    next: StoredValue<u64>,
}

impl Editor {
    pub fn new(editor: &ProfileEditor) -> Self {
        let this = Self {
            revision: RwSignal::new(editor.revision),
            dirty: RwSignal::new(false),
            problems: RwSignal::new(Vec::new()),
            categories: StoredValue::new(editor.categories.clone()),
            grading: StoredValue::new(editor.grading.clone()),
            levels: RwSignal::new(editor.levels.clone()),
            basics: StoredValue::new(
                BASICS
                    .iter()
                    .map(|(_, f)| ((*f).to_owned(), RwSignal::new(String::new())))
                    .collect(),
            ),
            lists: StoredValue::new(
                Sheet::ALL
                    .into_iter()
                    .map(|s| (s, RwSignal::new(Vec::new())))
                    .collect(),
            ),
            next: StoredValue::new(0),
        };
        this.fill(&editor.sheets);
        this
    }

    fn fill(&self, sheets: &Sheets) {
        self.basics.with_value(|basics| {
            for (field, value) in basics {
                let kept = sheets
                    .basics
                    .iter()
                    .find(|(f, _)| f == field)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                value.set(kept);
            }
        });
        for sheet in Sheet::ALL {
            let rows = sheets
                .rows(sheet)
                .iter()
                .map(|cells| self.row(cells.clone()))
                .collect();
            self.rows(sheet).set(rows);
        }
    }

    fn row(&self, mut cells: Vec<String>) -> Row {
        let key = self.next.get_value();
        self.next.set_value(key + 1);
        cells.resize(16, String::new());
        Row {
            key,
            cells: RwSignal::new(cells),
        }
    }

    fn rows(&self, sheet: Sheet) -> RwSignal<Vec<Row>> {
        self.lists.with_value(|lists| {
            lists
                .iter()
                .find(|(s, _)| *s == sheet)
                .map(|(_, rows)| *rows)
                .expect("every sheet has rows")
        })
    }

    pub fn basic(&self, field: &str) -> RwSignal<String> {
        self.basics.with_value(|basics| {
            basics
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, v)| *v)
                .expect("every item of 基本情况 has a value")
        })
    }

    /// The page's cells as sheets.
    pub fn sheets(&self) -> Sheets {
        let basics = self.basics.with_value(|basics| {
            basics
                .iter()
                .map(|(f, v)| (f.clone(), v.get_untracked()))
                .collect()
        });
        let lists = Sheet::ALL
            .into_iter()
            .map(|sheet| {
                let width = sheet.columns().len();
                let rows = self
                    .rows(sheet)
                    .get_untracked()
                    .iter()
                    .map(|r| r.cells.with_untracked(|c| c[..width].to_vec()))
                    .collect();
                (sheet, rows)
            })
            .collect();
        Sheets { basics, lists }
    }

    /// A save went through: the profile as kept (tidied, graded).
    pub fn saved(&self, saved: ProfileSaved) {
        self.revision.set(saved.revision);
        self.problems.set(Vec::new());
        self.levels.set(saved.levels);
        self.fill(&saved.sheets);
        self.dirty.set(false);
    }

    /// The message for the cell at `path`, when the last save found it wrong.
    pub fn problem_at(&self, path: String) -> impl Fn() -> Option<String> + Copy + Send + Sync {
        let problems = self.problems;
        let path = StoredValue::new(path);
        move || {
            problems.with(|list| {
                path.with_value(|path| {
                    list.iter()
                        .find(|p| &p.field == path)
                        .map(|p| p.message.clone())
                })
            })
        }
    }

    /// The posts entered, for an on-site plan.
    pub fn posts(&self) -> Vec<String> {
        self.rows(Sheet::Posts)
            .get()
            .iter()
            .map(|r| r.cells.with(|c| c[0].trim().to_owned()))
            .filter(|p| !p.is_empty())
            .collect()
    }
}

/// One list of the profile as a table.
#[component]
pub fn SheetTable(sheet: Sheet, state: Editor) -> impl IntoView {
    let rows = state.rows(sheet);
    let columns = sheet.columns();
    let risks = sheet == Sheet::Risks;
    let add = move |_| {
        let row = state.row(Vec::new());
        rows.update(|r| r.push(row));
        state.dirty.set(true);
    };
    let headers = columns
        .iter()
        .map(|(label, _)| view! { <th scope="col">{*label}</th> })
        .collect_view();
    view! {
        <section class="panel sheet" data-sheet=sheet.title()>
            <h2>{sheet.title()}</h2>
            {risks.then(|| view! {
                <p class="muted">"风险等级保存后按 " {state.grading.get_value()} " 计算。"</p>
                <datalist id="categories">
                    {state.categories.get_value().into_iter().map(|c| view! { <option value=c /> }).collect_view()}
                </datalist>
            })}
            <div class="sheet-scroll">
                <table class="sheet-table">
                    <thead>
                        <tr>
                            <th scope="col" class="row-number">"#"</th>
                            {headers}
                            {risks.then(|| view! { <th scope="col">"风险等级"</th> })}
                            <th scope="col">"操作"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || rows.get() key=|r| r.key let:row>
                            <SheetRow sheet row rows state />
                        </For>
                    </tbody>
                </table>
            </div>
            <button type="button" on:click=add data-testid=format!("add-{}", sheet.title())>
                {format!("添加一行（{}）", sheet.title())}
            </button>
        </section>
    }
}

#[component]
fn SheetRow(sheet: Sheet, row: Row, rows: RwSignal<Vec<Row>>, state: Editor) -> impl IntoView {
    let key = row.key;
    let index = move || {
        rows.with(|r| r.iter().position(|x| x.key == key))
            .unwrap_or_default()
    };
    let shift = move |by: isize| {
        rows.update(|r| {
            if let Some(at) = r.iter().position(|x| x.key == key) {
                let to = at as isize + by;
                if to >= 0 && (to as usize) < r.len() {
                    r.swap(at, to as usize);
                }
            }
        });
        state.dirty.set(true);
    };
    let remove = move |_| {
        rows.update(|r| r.retain(|x| x.key != key));
        state.dirty.set(true);
    };
    let cells = sheet
        .columns()
        .iter()
        .enumerate()
        .map(|(c, (label, field))| {
            let value = move || row.cells.with(|cells| cells[c].clone());
            let set = move |text: String| {
                row.cells.update(|cells| cells[c] = text);
                state.dirty.set(true);
            };
            let problem = move || {
                let path = format!("{}[{}].{field}", sheet.path(), index());
                state.problems.with(|list| {
                    list.iter()
                        .find(|p| p.field == path)
                        .map(|p| p.message.clone())
                })
            };
            let input = match sheet.choices(field) {
                Some(options) => view! {
                    <select aria-label=*label on:change=move |ev| set(event_target_value(&ev))
                        aria-invalid=move || problem().is_some().to_string()>
                        <option value="" selected=move || value().is_empty()>"请选择"</option>
                        {options.into_iter().map(|o| view! {
                            <option value=o selected=move || value() == o>{o}</option>
                        }).collect_view()}
                    </select>
                }
                .into_any(),
                None => {
                    let list = (*field == "category").then_some("categories");
                    view! {
                        <input type="text" aria-label=*label list=list prop:value=value
                            aria-invalid=move || problem().is_some().to_string()
                            on:input=move |ev| set(event_target_value(&ev)) />
                    }
                    .into_any()
                }
            };
            view! {
                <td data-label=*label title=move || problem().unwrap_or_default()>{input}</td>
            }
        })
        .collect_view();
    let level = (sheet == Sheet::Risks).then(|| {
        view! {
            <td data-label="风险等级" class="level">
                {move || state.levels.with(|l| l.get(index()).cloned().unwrap_or_default())}
            </td>
        }
    });
    view! {
        <tr data-testid="sheet-row">
            <td class="row-number">{move || index() + 1}</td>
            {cells}
            {level}
            <td class="row-actions">
                <button type="button" aria-label="上移" on:click=move |_| shift(-1)>"↑"</button>
                <button type="button" aria-label="下移" on:click=move |_| shift(1)>"↓"</button>
                <button type="button" class="danger" aria-label="删除此行" on:click=remove>"删除"</button>
            </td>
        </tr>
    }
}
