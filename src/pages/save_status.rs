//! Where the plan on the page stands with the server: 已保存 / 保存中 / 离线, a conflict to
//! settle, and the plan's versions (keep one with a note, open the history).

use leptos::prelude::*;

use super::sync::{SaveState, Sync};
use crate::model::saved::{short_time, MAX_NOTE_CHARS};

#[component]
pub fn SaveStatus(sync: Sync) -> impl IntoView {
    let label = move || {
        match sync.state.get() {
        SaveState::Idle => ("idle", String::new()),
        SaveState::Unsaved => ("unsaved", "有未保存的修改".to_owned()),
        SaveState::Saving => ("saving", "保存中…".to_owned()),
        SaveState::Saved(at) if at.is_empty() => ("saved", "已保存".to_owned()),
        SaveState::Saved(at) => ("saved", format!("已保存 {}", short_time(&at))),
        SaveState::Offline(why) if !sync.kept_locally.get() => (
            "offline",
            format!("离线，且本机浏览器存储已满，最新的修改只在这个页面中：请不要关闭页面，或先导出 Word 保存（{why}）"),
        ),
        SaveState::Offline(why) => (
            "offline",
            format!("离线：修改已保存在本机浏览器，连接恢复后自动保存（{why}）"),
        ),
        SaveState::Conflict(_) => ("conflict", "保存冲突，请选择保留哪一份".to_owned()),
        SaveState::Refused(why) => (
            "refused",
            format!("未能保存到服务器：{why}（内容仍保留在本机浏览器）"),
        ),
    }
    };
    view! {
        <span
            class=move || format!("save-state save-{}", label().0)
            data-testid="save-state"
            data-state=move || label().0
            role="status"
            aria-live="polite"
        >
            {move || label().1}
        </span>
    }
}

/// Shown while the plan conflicts with a newer save elsewhere: which sections differ, and the
/// two ways out. Either way the other text is kept as a version.
#[component]
pub fn ConflictBanner(sync: Sync, plan: RwSignal<Option<crate::model::Plan>>) -> impl IntoView {
    move || {
        let SaveState::Conflict(current) = sync.state.get() else {
            return None;
        };
        let differing: Vec<String> = plan.with(|mine| {
            let Some(mine) = mine else {
                return Vec::new();
            };
            mine.sections
                .iter()
                .enumerate()
                .filter(|(i, s)| current.plan.sections.get(*i).map(|o| o.text()) != Some(s.text()))
                .map(|(i, s)| format!("{}. {}", i + 1, s.section_title))
                .collect()
        });
        let which = if differing.is_empty() {
            "章节正文相同，预案信息不同".to_owned()
        } else {
            format!("内容不同的章节：{}", differing.join("、"))
        };
        Some(view! {
            <div class="alert conflict" role="alert" data-testid="conflict">
                <p>
                    <strong>"此预案已在其他窗口或设备上修改"</strong>
                    {format!("（{} 保存）。", short_time(&current.updated_at))}
                    {which}
                </p>
                <p class="muted">"两份内容都已保留：未选用的一份会存为一个版本，可在版本历史中查看和恢复。"</p>
                <div class="actions">
                    <button type="button" class="primary" on:click=move |_| sync.keep_mine()>
                        "保留本窗口的内容"
                    </button>
                    <button type="button" on:click=move |_| sync.take_theirs()>
                        "改用另一处保存的内容"
                    </button>
                </div>
            </div>
        })
    }
}

/// Keep the plan as a version with a note; the way to its history and to the writer's plans.
#[component]
pub fn VersionBar(sync: Sync) -> impl IntoView {
    let note = RwSignal::new(String::new());
    let history = move || {
        sync.id
            .get()
            .map(|id| format!("/plans/{id}/versions"))
            .unwrap_or_else(|| "/plans".into())
    };
    view! {
        <form
            class="version-bar"
            on:submit=move |ev| {
                ev.prevent_default();
                let text = note.get_untracked();
                if !text.trim().is_empty() {
                    sync.keep_named(text);
                    note.set(String::new());
                }
            }
        >
            <input
                type="text"
                aria-label="版本说明"
                placeholder="版本说明，如：送审稿"
                maxlength=MAX_NOTE_CHARS
                prop:value=move || note.get()
                on:input=move |ev| note.set(event_target_value(&ev))
            />
            <button type="submit" disabled=move || note.with(|n| n.trim().is_empty())>"保存版本"</button>
            <a href=history data-testid="history-link">"版本历史"</a>
            <a href="/plans">"我的预案"</a>
            <span class="muted" aria-live="polite" data-testid="save-notice">{move || sync.notice.get()}</span>
        </form>
    }
}
