//! A section held against GB/T 29639-2020 as the writer sees it: which elements are there, the
//! facts still to be filled in (marked), and a whole plan's self-check table.

use leptos::prelude::*;

use crate::model::{check::split_placeholders, ClauseRow, SectionCheck};

/// One line under a section: every element there, or the ones missing; and how many facts are
/// still to be filled in, each named.
#[component]
pub fn CheckLine(check: SectionCheck, text: String) -> impl IntoView {
    let missing = check.missing_names();
    let wanting: Vec<String> = split_placeholders(&text)
        .into_iter()
        .filter(|(_, marked)| *marked)
        .map(|(run, _)| run.to_owned())
        .collect();
    let elements = check
        .elements
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                if e.present { "✓" } else { "✗" },
                e.clause,
                e.name
            )
        })
        .collect::<Vec<_>>()
        .join("　");
    view! {
        <div class="check" data-testid="check" data-missing=check.missing.to_string() data-placeholders=check.placeholders.to_string()>
            {if missing.is_empty() {
                view! { <span class="check-ok" title=elements>"要素齐全 ✓"</span> }.into_any()
            } else {
                view! {
                    <span class="check-missing" title=elements>{format!("缺少：{}", missing.join("、"))}</span>
                }
                .into_any()
            }}
            {(!wanting.is_empty()).then(|| view! {
                <span class="check-wanting">
                    {format!("待补充 {} 处：", wanting.len())}
                    {wanting.into_iter().map(|w| view! { <mark class="placeholder">{w}</mark> }).collect_view()}
                </span>
            })}
        </div>
    }
}

/// Text with its `（待补充：…）` placeholders marked.
#[component]
pub fn MarkedText(text: String) -> impl IntoView {
    split_placeholders(&text)
        .into_iter()
        .map(|(run, marked)| {
            let run = run.to_owned();
            if marked {
                view! { <mark class="placeholder">{run}</mark> }.into_any()
            } else {
                run.into_any()
            }
        })
        .collect_view()
}

/// Every clause of the plan type: the section covering it, and whether its text has it.
#[component]
pub fn SelfCheckTable(rows: Vec<ClauseRow>) -> impl IntoView {
    let missing = rows.iter().filter(|r| r.present == Some(false)).count();
    let waiting = rows.iter().filter(|r| r.present.is_none()).count();
    let summary = match (missing, waiting) {
        (0, 0) => "全部要素齐全".to_owned(),
        (0, w) => format!("已生成的章节要素齐全，尚有 {w} 项所在章节未生成"),
        (m, _) => format!("缺少 {m} 项要素"),
    };
    view! {
        <details class="self-check" data-testid="self-check">
            <summary>{format!("GB/T 29639-2020 要素自查（{}）", summary)}</summary>
            <div class="table-scroll">
                <table class="usage">
                    <thead>
                        <tr>
                            <th scope="col">"条款"</th>
                            <th scope="col">"要素"</th>
                            <th scope="col">"所在章节"</th>
                            <th scope="col">"结果"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|r| {
                                let (label, class) = match r.present {
                                    Some(true) => ("✓ 具备", "check-ok"),
                                    Some(false) => ("✗ 缺少", "check-missing"),
                                    None => ("未生成", "muted"),
                                };
                                let clause = r.clause.clone();
                                view! {
                                    <tr data-clause=clause>
                                        <td>{r.clause}</td>
                                        <td>{r.name}</td>
                                        <td>{r.section_title}</td>
                                        <td class=class>{label}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
}
