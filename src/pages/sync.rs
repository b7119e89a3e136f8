//! Keeps the plan on the generator page saved. Every change is written to `localStorage` at
//! once (the buffer that survives a reload, a closed tab or a lost connection) and to the
//! server soon after: edits after a pause in typing, a generated section as soon as it is
//! done (with an automatic version). A save names the revision it was made on; when another
//! tab or device saved in between, nothing is overwritten: the conflict is shown and both texts
//! are kept until the writer chooses. While the server cannot be reached the page says so and
//! keeps trying; buffers of other plans left unsaved are sent when the page next loads.
//!
//! The store lives as long as the app (not the generator page), so a save or a retry that
//! finishes after the writer went to another page still lands. Buffers are kept per user: a
//! shared browser never shows one writer's plan to the next, nor sends it into their account.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::saved::{keep_version, load_plan, save_plan, SaveRequest};
use crate::{
    browser,
    model::{saved::MAX_NOTE_CHARS, AppError, ErrorCode, Plan, SaveOutcome, SavedPlan},
};

const CURRENT_PREFIX: &str = "yueen.plan.current.";
const BUFFER_PREFIX: &str = "yueen.plan.v3.";
/// Where the page kept its one plan before plans were saved on the server.
const LEGACY_KEY: &str = "yueen.plan.v2";
/// The pause in typing after which an edit is sent.
pub const EDIT_DELAY_MS: u64 = 1200;
const RETRY_FIRST_MS: u64 = 2000;
const RETRY_MAX_MS: u64 = 60_000;
/// A save not answered within this is given up and retried.
const SAVE_DEADLINE_MS: u64 = 20_000;

fn buffer_prefix(user: &str) -> String {
    format!("{BUFFER_PREFIX}{user}.")
}

fn buffer_key(user: &str, id: &str) -> String {
    format!("{}{id}", buffer_prefix(user))
}

fn current_key(user: &str) -> String {
    format!("{CURRENT_PREFIX}{user}")
}

/// What `localStorage` holds of a plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Buffer {
    id: String,
    /// 0: not on the server yet.
    revision: i64,
    /// Changed since the server last took it.
    dirty: bool,
    #[serde(default)]
    notes: Vec<String>,
    /// Its next save settles a conflict for this text (the other one is kept as a version).
    #[serde(default)]
    keep_replaced: bool,
    plan: Plan,
}

fn read_buffer(key: &str) -> Option<Buffer> {
    browser::load(key).and_then(|s| serde_json::from_str(&s).ok())
}

/// Where the plan stands with the server, as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveState {
    /// No plan yet.
    Idle,
    /// Changed; the save is waiting for a pause in typing.
    Unsaved,
    Saving,
    /// Saved; when (China time).
    Saved(String),
    /// The server or its database cannot be reached; the text is kept in this browser.
    Offline(String),
    /// Another tab or device saved first: the plan as saved there.
    Conflict(Box<SavedPlan>),
    /// The server refused the plan (gone, too large): it stays in this browser.
    Refused(String),
}

#[derive(Clone, Copy)]
pub struct Sync {
    plan: RwSignal<Option<Plan>>,
    /// Whose browser buffers these are (the logged-in user's name), once known.
    user: RwSignal<Option<String>>,
    pub id: RwSignal<Option<String>>,
    revision: RwSignal<i64>,
    dirty: RwSignal<bool>,
    /// Notes for the automatic version the next save keeps (sections generated).
    notes: RwSignal<Vec<String>>,
    pub state: RwSignal<SaveState>,
    /// A message about the last thing the writer asked for (a version kept, a conflict settled).
    pub notice: RwSignal<Option<String>>,
    /// A save is on its way.
    in_flight: RwSignal<bool>,
    /// Changes so far: a save leaves the plan dirty when more came while it was on its way.
    changes: RwSignal<u64>,
    /// The next save settles a conflict for this text.
    keep_replaced: RwSignal<bool>,
    /// Debounce: only the latest scheduled save runs.
    timer: RwSignal<u64>,
    retry_ms: RwSignal<u64>,
    /// The plan of a save whose answer never came (it may have landed): a conflict with exactly
    /// that text is this page's own save, not another writer's.
    unanswered: RwSignal<Option<Plan>>,
    /// Raised whenever a plan is opened from the server or the buffer (the form follows it).
    pub opened: RwSignal<u64>,
    /// Whether the last change made it into `localStorage` (false: full or disabled).
    pub kept_locally: RwSignal<bool>,
}

impl Sync {
    pub fn new(plan: RwSignal<Option<Plan>>) -> Self {
        let sync = Self {
            plan,
            user: RwSignal::new(None),
            id: RwSignal::new(None),
            revision: RwSignal::new(0),
            dirty: RwSignal::new(false),
            notes: RwSignal::new(Vec::new()),
            state: RwSignal::new(SaveState::Idle),
            notice: RwSignal::new(None),
            in_flight: RwSignal::new(false),
            changes: RwSignal::new(0),
            keep_replaced: RwSignal::new(false),
            timer: RwSignal::new(0),
            retry_ms: RwSignal::new(RETRY_FIRST_MS),
            opened: RwSignal::new(0),
            kept_locally: RwSignal::new(true),
            unanswered: RwSignal::new(None),
        };
        // Every change goes to the buffer at once: the text survives whatever happens next.
        Effect::new(move |_| {
            let (Some(user), Some(id)) = (sync.user.get(), sync.id.get()) else {
                return;
            };
            let json = plan.with(|p| {
                p.as_ref().and_then(|p| {
                    serde_json::to_string(&Buffer {
                        id: id.clone(),
                        revision: sync.revision.get(),
                        dirty: sync.dirty.get(),
                        notes: sync.notes.get(),
                        keep_replaced: sync.keep_replaced.get(),
                        plan: p.clone(),
                    })
                    .ok()
                })
            });
            if let Some(json) = json {
                let key = buffer_key(&user, &id);
                let kept = browser::save(&key, &json) || {
                    // Full: an older copy must not come back after a reload as if it were
                    // the latest. Dropped, which also frees its space for one more try.
                    browser::remove(&key);
                    browser::save(&key, &json)
                };
                if kept {
                    browser::save(&current_key(&user), &id);
                }
                sync.kept_locally.set(kept);
            }
        });
        // Once, in the browser: back online, the waiting save goes at once.
        Effect::new(move |_| browser::on_online(move || sync.flush()));
        sync
    }

    /// Starts keeping `user`'s plans: opens `opening` (from `/?plan=<id>`), or picks up where
    /// this browser left off unless a plan is already on the page (back from another page).
    pub fn begin(self, user: String, opening: Option<String>) {
        if self.user.get_untracked().as_ref() != Some(&user) {
            self.user.set(Some(user));
            self.id.set(None);
            self.plan.set(None);
        }
        match opening {
            Some(id) if self.id.get_untracked().as_ref() != Some(&id) => self.open(id),
            Some(_) => {}
            None if self.id.get_untracked().is_none() => self.resume(),
            None => self.flush(),
        }
    }

    /// Picks up where this browser left off: the plan it last had (sent on if unsaved, else
    /// refreshed from the server), then any other plan left unsaved.
    fn resume(self) {
        let Some(user) = self.user.get_untracked() else {
            return;
        };
        let current =
            browser::load(&current_key(&user)).and_then(|id| read_buffer(&buffer_key(&user, &id)));
        if let Some(buffer) = current {
            let refresh = !buffer.dirty && buffer.revision > 0;
            let id = buffer.id.clone();
            self.load_buffer(buffer);
            if refresh {
                leptos::task::spawn_local(async move {
                    if let Some(Ok(saved)) = within(SAVE_DEADLINE_MS, load_plan(id.clone())).await {
                        // Only while the page still shows that plan, unchanged.
                        let same = self.id.get_untracked().as_ref() == Some(&id);
                        let newer = self.revision.get_untracked() < saved.revision;
                        if same && newer && !self.dirty.get_untracked() {
                            self.adopt(saved);
                        }
                    }
                });
            }
        } else if let Some(plan) =
            browser::load(LEGACY_KEY).and_then(|s| serde_json::from_str::<Plan>(&s).ok())
        {
            self.start(plan.restored());
            browser::remove(LEGACY_KEY);
        }
        self.send_others(None);
    }

    /// Opens a saved plan: this browser's unsaved text of it if there is any (sent on), else
    /// the server's.
    fn open(self, id: String) {
        let Some(user) = self.user.get_untracked() else {
            return;
        };
        self.send_others(Some(&id));
        let key = buffer_key(&user, &id);
        if let Some(buffer) = read_buffer(&key).filter(|b| b.dirty) {
            self.load_buffer(buffer);
            return;
        }
        self.state.set(SaveState::Saving);
        let before = self.id.get_untracked();
        leptos::task::spawn_local(async move {
            let loaded = within(SAVE_DEADLINE_MS, load_plan(id.clone()))
                .await
                .unwrap_or_else(|| Err(AppError::new(ErrorCode::Unreachable, "读取超时")));
            if self.id.get_untracked() != before {
                // The writer started or opened another plan meanwhile: that one stays.
                return;
            }
            match loaded {
                Ok(saved) => self.adopt(saved),
                Err(e) => match read_buffer(&key) {
                    Some(buffer) => {
                        self.load_buffer(buffer);
                        self.state.set(SaveState::Offline(e.message));
                    }
                    None => self
                        .state
                        .set(SaveState::Refused(format!("无法打开该预案：{}", e.message))),
                },
            }
        });
    }

    fn load_buffer(self, buffer: Buffer) {
        let dirty = buffer.dirty;
        self.id.set(Some(buffer.id));
        self.revision.set(buffer.revision);
        self.dirty.set(dirty);
        self.notes.set(buffer.notes);
        self.keep_replaced.set(buffer.keep_replaced);
        self.plan.set(Some(buffer.plan.restored()));
        self.state.set(if dirty {
            SaveState::Unsaved
        } else {
            SaveState::Saved(String::new())
        });
        self.opened.update(|n| *n += 1);
        if dirty {
            self.flush();
        }
    }

    /// The plan as the server has it, now the page's.
    fn adopt(self, saved: SavedPlan) {
        self.id.set(Some(saved.id));
        self.revision.set(saved.revision);
        self.dirty.set(false);
        self.notes.set(Vec::new());
        self.keep_replaced.set(false);
        self.plan.set(Some(saved.plan.restored()));
        self.state.set(SaveState::Saved(saved.updated_at));
        self.opened.update(|n| *n += 1);
    }

    /// A new plan on this page (under a new id), saved at once. The plan it replaces is sent
    /// now if it has changes not yet saved (its buffer keeps them meanwhile).
    pub fn start(self, plan: Plan) {
        if let Some(previous) = self.snapshot().filter(|b| b.dirty) {
            leptos::task::spawn_local(async move {
                send_buffer(previous).await;
            });
        }
        self.id.set(Some(browser::random_id()));
        self.revision.set(0);
        self.dirty.set(false);
        self.notes.set(Vec::new());
        self.keep_replaced.set(false);
        self.retry_ms.set(RETRY_FIRST_MS);
        self.state.set(SaveState::Unsaved);
        self.plan.set(Some(plan));
        self.changed(None, 0);
    }

    /// The plan on the page as its buffer holds it.
    fn snapshot(self) -> Option<Buffer> {
        Some(Buffer {
            id: self.id.get_untracked()?,
            revision: self.revision.get_untracked(),
            dirty: self.dirty.get_untracked(),
            notes: self.notes.get_untracked(),
            keep_replaced: self.keep_replaced.get_untracked(),
            plan: self.plan.get_untracked()?,
        })
    }

    /// The plan changed: saved after `delay_ms`, with an automatic version when `note` says
    /// what was generated.
    pub fn changed(self, note: Option<String>, delay_ms: u64) {
        if self.id.get_untracked().is_none() {
            return;
        }
        self.dirty.set(true);
        self.changes.update(|n| *n += 1);
        if let Some(note) = note {
            self.notes.update(|notes| notes.push(note));
        }
        if !matches!(
            self.state.get_untracked(),
            SaveState::Conflict(_) | SaveState::Offline(_)
        ) {
            self.state.set(SaveState::Unsaved);
        }
        self.schedule(delay_ms);
    }

    fn schedule(self, delay_ms: u64) {
        self.timer.update(|n| *n += 1);
        let ticket = self.timer.get_untracked();
        set_timeout(
            move || {
                if self.timer.get_untracked() == ticket {
                    self.flush();
                }
            },
            std::time::Duration::from_millis(delay_ms),
        );
    }

    /// Sends the plan now, unless it is saved, being saved, or waiting for the writer to
    /// settle a conflict.
    pub fn flush(self) {
        if !self.dirty.get_untracked()
            || self.in_flight.get_untracked()
            || matches!(self.state.get_untracked(), SaveState::Conflict(_))
        {
            return;
        }
        let (Some(id), Some(plan)) = (self.id.get_untracked(), self.plan.get_untracked()) else {
            return;
        };
        let notes = self.notes.get_untracked();
        let request = SaveRequest {
            id: id.clone(),
            revision: self.revision.get_untracked(),
            plan,
            snapshot: note_of(&notes),
            keep_replaced: self.keep_replaced.get_untracked(),
        };
        let changes = self.changes.get_untracked();
        self.in_flight.set(true);
        self.state.set(SaveState::Saving);
        leptos::task::spawn_local(async move {
            let sent = request.clone();
            let outcome = match within(SAVE_DEADLINE_MS, save_plan(request)).await {
                Some(outcome) => outcome,
                None => {
                    self.unanswered.set(Some(sent.plan.clone()));
                    Err(AppError::new(ErrorCode::Unreachable, "保存超时"))
                }
            };
            self.in_flight.set(false);
            if self.id.get_untracked().as_ref() != Some(&id) {
                // Another plan is on the page now: this answer only concerns the buffer of the
                // one that was sent; the page's own plan is sent next if it has changes.
                self.settle_elsewhere(sent, outcome);
                self.flush();
                return;
            }
            match outcome {
                Ok(SaveOutcome::Saved {
                    revision,
                    updated_at,
                }) => {
                    self.revision.set(revision);
                    self.keep_replaced.set(false);
                    self.unanswered.set(None);
                    self.retry_ms.set(RETRY_FIRST_MS);
                    self.notes.update(|all| {
                        all.drain(..notes.len().min(all.len()));
                    });
                    let more = self.changes.get_untracked() != changes;
                    self.dirty.set(more);
                    if more {
                        // Changed again while this save was on its way: that is saved next.
                        self.state.set(SaveState::Unsaved);
                        self.schedule(EDIT_DELAY_MS);
                    } else {
                        self.state.set(SaveState::Saved(updated_at));
                    }
                }
                Ok(SaveOutcome::Conflict(current))
                    if self.unanswered.get_untracked().as_ref() == Some(&current.plan) =>
                {
                    // Our own earlier save, whose answer was lost: go on from its revision.
                    self.unanswered.set(None);
                    self.revision.set(current.revision);
                    self.state.set(SaveState::Unsaved);
                    self.schedule(0);
                }
                Ok(SaveOutcome::Conflict(current)) => {
                    self.state.set(SaveState::Conflict(current));
                }
                Err(e) => {
                    if !e.retryable {
                        self.state.set(SaveState::Refused(e.message));
                    } else {
                        self.state.set(SaveState::Offline(e.message));
                        let wait = self.retry_ms.get_untracked();
                        self.retry_ms.set((wait * 2).min(RETRY_MAX_MS));
                        self.schedule(wait);
                    }
                }
            }
        });
    }

    /// The answer to a save of a plan that is no longer on the page, written into its buffer:
    /// saved means clean (if it has not changed since), anything else leaves it to be sent
    /// again when the page next loads.
    fn settle_elsewhere(self, sent: SaveRequest, outcome: Result<SaveOutcome, AppError>) {
        let Some(user) = self.user.get_untracked() else {
            return;
        };
        let key = buffer_key(&user, &sent.id);
        if let (Ok(SaveOutcome::Saved { revision, .. }), Some(mut buffer)) =
            (outcome, read_buffer(&key))
        {
            buffer.revision = revision;
            buffer.dirty = buffer.plan != sent.plan;
            if let Ok(json) = serde_json::to_string(&buffer) {
                let _ = browser::save(&key, &json);
            }
        }
    }

    /// Settles a conflict for this page's text; the other text is kept as a version.
    pub fn keep_mine(self) {
        let SaveState::Conflict(current) = self.state.get_untracked() else {
            return;
        };
        self.revision.set(current.revision);
        self.keep_replaced.set(true);
        self.dirty.set(true);
        self.state.set(SaveState::Unsaved);
        self.notice
            .set(Some("已保留本窗口的内容；另一处的内容已存为版本".into()));
        self.flush();
    }

    /// Settles a conflict for the other text; this page's text is kept as a version first.
    pub fn take_theirs(self) {
        let SaveState::Conflict(current) = self.state.get_untracked() else {
            return;
        };
        let Some(mine) = self.plan.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            let note = "保存冲突时本窗口的内容".to_owned();
            match keep_version(current.id.clone(), note, mine, true).await {
                Ok(_) => {
                    self.adopt(*current);
                    self.notice
                        .set(Some("已改用另一处的内容；本窗口的内容已存为版本".into()));
                }
                Err(e) => self.notice.set(Some(format!(
                    "未能保存本窗口的内容，请稍后再试：{}",
                    e.message
                ))),
            }
        });
    }

    /// Keeps the plan as it is as a named version (saved first if it has changed).
    pub fn keep_named(self, note: String) {
        let (Some(id), Some(plan)) = (self.id.get_untracked(), self.plan.get_untracked()) else {
            return;
        };
        if self.revision.get_untracked() == 0 {
            self.notice
                .set(Some("预案尚未保存到服务器，请稍后再试".into()));
            return;
        }
        leptos::task::spawn_local(async move {
            let message = match keep_version(id, note, plan, false).await {
                Ok(v) => format!("已保存为版本 {}", v.version),
                Err(e) => format!("版本未保存：{}", e.message),
            };
            self.notice.set(Some(message));
        });
    }

    /// Sends the buffers of other plans this browser changed but could not save, then drops
    /// them (and the clean ones of plans not on the page). `keep` is a plan being opened.
    fn send_others(self, keep: Option<&str>) {
        let Some(user) = self.user.get_untracked() else {
            return;
        };
        let current = self.id.get_untracked();
        for key in browser::keys(&buffer_prefix(&user)) {
            let Some(buffer) = read_buffer(&key) else {
                continue;
            };
            // Another user's whose name starts like this one's ("a" and "a.b"): not ours.
            if key != buffer_key(&user, &buffer.id) {
                continue;
            }
            if Some(&buffer.id) == current.as_ref() || Some(buffer.id.as_str()) == keep {
                continue;
            }
            if !buffer.dirty {
                browser::remove(&key);
                continue;
            }
            leptos::task::spawn_local(async move {
                if send_buffer(buffer).await {
                    browser::remove(&key);
                }
            });
        }
    }
}

/// Saves a plan's buffer that is not on the page; true once the server has its text (as the
/// plan, or as a version when a newer save came from elsewhere: never lost).
async fn send_buffer(buffer: Buffer) -> bool {
    let request = SaveRequest {
        id: buffer.id.clone(),
        revision: buffer.revision,
        plan: buffer.plan.clone(),
        snapshot: note_of(&buffer.notes),
        keep_replaced: buffer.keep_replaced,
    };
    match within(SAVE_DEADLINE_MS, save_plan(request)).await {
        Some(Ok(SaveOutcome::Saved { .. })) => true,
        Some(Ok(SaveOutcome::Conflict(_))) => keep_version(
            buffer.id,
            "本机未同步的内容（已有更新的保存）".into(),
            buffer.plan,
            true,
        )
        .await
        .is_ok(),
        _ => false,
    }
}

/// `future`'s output, unless `ms` pass first.
async fn within<T>(ms: u64, future: impl std::future::Future<Output = T>) -> Option<T> {
    use futures::future::{select, Either};
    let (done, timeout) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = done.send(());
        },
        std::time::Duration::from_millis(ms),
    );
    let future = std::pin::pin!(future);
    match select(future, timeout).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

/// The notes of the sections generated since the last save (each `动作：N. 标题`), as one
/// version note that stays short: listed when they are few, else counted by what was done
/// (`生成 9 章`).
fn note_of(notes: &[String]) -> Option<String> {
    const LISTED: usize = 40;
    if notes.is_empty() {
        return None;
    }
    let joined = notes.join("；");
    if joined.chars().count() <= LISTED {
        return Some(joined);
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for note in notes {
        let verb = note.split_once('：').map_or("修改", |(verb, _)| verb);
        match counts.iter_mut().find(|(v, _)| *v == verb) {
            Some((_, n)) => *n += 1,
            None => counts.push((verb, 1)),
        }
    }
    let counted: Vec<String> = counts
        .iter()
        .map(|(verb, n)| format!("{verb} {n} 章"))
        .collect();
    let counted = counted.join("；");
    Some(counted.chars().take(MAX_NOTE_CHARS).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_note_lists_a_few_sections_and_counts_many() {
        assert_eq!(note_of(&[]), None);
        let one = vec!["重新生成：2. 企业概况".to_owned()];
        assert_eq!(note_of(&one).as_deref(), Some("重新生成：2. 企业概况"));
        let whole: Vec<String> = (1..=9)
            .map(|n| format!("生成：{n}. 第{n}章的标题相当长的一个章节"))
            .chain(["重试：4. 第4章".to_owned()])
            .collect();
        assert_eq!(note_of(&whole).as_deref(), Some("生成 9 章；重试 1 章"));
    }
}
