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

pub use super::save_machine::{SaveState, EDIT_DELAY_MS};
use super::{
    save_machine::{note_of, Command, Kept, Machine, Sent},
    saved::{keep_version, load_plan, save_plan, SaveRequest},
};
use crate::{
    browser,
    model::{AppError, ErrorCode, Plan, SaveOutcome, SavedPlan},
};

const CURRENT_PREFIX: &str = "yueen.plan.current.";
const BUFFER_PREFIX: &str = "yueen.plan.v3.";
/// Where the page kept its one plan before plans were saved on the server.
const LEGACY_KEY: &str = "yueen.plan.v2";
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

impl Buffer {
    fn of(kept: Kept, plan: Plan) -> Self {
        Self {
            id: kept.id,
            revision: kept.revision,
            dirty: kept.dirty,
            notes: kept.notes,
            keep_replaced: kept.keep_replaced,
            plan,
        }
    }

    fn split(self) -> (Kept, Plan) {
        let kept = Kept {
            id: self.id,
            revision: self.revision,
            dirty: self.dirty,
            notes: self.notes,
            keep_replaced: self.keep_replaced,
        };
        (kept, self.plan)
    }
}

fn read_buffer(key: &str) -> Option<Buffer> {
    browser::load(key).and_then(|s| serde_json::from_str(&s).ok())
}

#[derive(Clone, Copy)]
pub struct Sync {
    plan: RwSignal<Option<Plan>>,
    /// Whose browser buffers these are (the logged-in user's name), once known.
    user: RwSignal<Option<String>>,
    /// Every decision: see `save_machine`.
    machine: RwSignal<Machine>,
    pub id: Memo<Option<String>>,
    pub state: Memo<SaveState>,
    /// A message about the last thing the writer asked for (a version kept, a conflict settled).
    pub notice: RwSignal<Option<String>>,
    /// Raised whenever a plan is opened from the server or the buffer (the form follows it).
    pub opened: RwSignal<u64>,
    /// Whether the last change made it into `localStorage` (false: full or disabled).
    pub kept_locally: RwSignal<bool>,
}

impl Sync {
    pub fn new(plan: RwSignal<Option<Plan>>) -> Self {
        let machine = RwSignal::new(Machine::default());
        let sync = Self {
            plan,
            user: RwSignal::new(None),
            machine,
            id: Memo::new(move |_| machine.with(|m| m.id.clone())),
            state: Memo::new(move |_| machine.with(|m| m.state.clone())),
            notice: RwSignal::new(None),
            opened: RwSignal::new(0),
            kept_locally: RwSignal::new(true),
        };
        // Every change goes to the buffer at once: the text survives whatever happens next.
        // Only what the buffer holds wakes it (not a timer or a save on its way).
        let kept = Memo::new(move |_| machine.with(Machine::kept));
        Effect::new(move |_| {
            let (Some(user), Some(kept)) = (sync.user.get(), kept.get()) else {
                return;
            };
            let json = plan.with(|p| {
                p.as_ref()
                    .and_then(|p| serde_json::to_string(&Buffer::of(kept.clone(), p.clone())).ok())
            });
            if let Some(json) = json {
                let key = buffer_key(&user, &kept.id);
                let stored = browser::save(&key, &json) || {
                    // Full: an older copy must not come back after a reload as if it were
                    // the latest. Dropped, which also frees its space for one more try.
                    browser::remove(&key);
                    browser::save(&key, &json)
                };
                if stored {
                    browser::save(&current_key(&user), &kept.id);
                }
                sync.kept_locally.set(stored);
            }
        });
        // Once, in the browser: back online, the waiting save goes at once.
        Effect::new(move |_| browser::on_online(move || sync.flush()));
        sync
    }

    /// Moves the machine on with `step`, then carries out what it asks for.
    fn step(self, step: impl FnOnce(&mut Machine) -> Vec<Command>) {
        let mut commands = Vec::new();
        self.machine.update(|m| commands = step(m));
        for command in commands {
            self.run(command);
        }
    }

    fn run(self, command: Command) {
        match command {
            Command::Schedule { ticket, ms } => set_timeout(
                move || self.step(|m| m.timer_fired(ticket)),
                std::time::Duration::from_millis(ms),
            ),
            Command::Flush => self.flush(),
            Command::Send(sent) => self.send(sent),
            Command::SettleBuffer { sent, revision } => self.settle_buffer(&sent, revision),
            Command::Notice(text) => self.notice.set(Some(text)),
        }
    }

    /// Sends a save; no answer within the deadline counts as a lost one.
    fn send(self, sent: Sent) {
        leptos::task::spawn_local(async move {
            match within(SAVE_DEADLINE_MS, save_plan(sent.request.clone())).await {
                Some(outcome) => self.step(|m| m.answered(sent, outcome)),
                None => self.step(|m| m.timed_out(sent)),
            }
        });
    }

    /// Starts keeping `user`'s plans: opens `opening` (from `/?plan=<id>`), or picks up where
    /// this browser left off unless a plan is already on the page (back from another page).
    pub fn begin(self, user: String, opening: Option<String>) {
        if self.user.get_untracked().as_ref() != Some(&user) {
            self.user.set(Some(user));
            self.machine.update(Machine::clear);
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
                        let unchanged = self.machine.with_untracked(|m| {
                            m.id.as_ref() == Some(&id) && m.revision < saved.revision && !m.dirty
                        });
                        if unchanged {
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
        self.machine.update(Machine::loading);
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
                        self.machine.update(|m| m.load_failed(&e, true));
                    }
                    None => self.machine.update(|m| m.load_failed(&e, false)),
                },
            }
        });
    }

    fn load_buffer(self, buffer: Buffer) {
        let (kept, plan) = buffer.split();
        self.plan.set(Some(plan.restored()));
        self.opened.update(|n| *n += 1);
        self.step(|m| m.resume(kept));
    }

    /// The plan as the server has it, now the page's.
    fn adopt(self, saved: SavedPlan) {
        self.machine.update(|m| m.adopt(&saved));
        self.plan.set(Some(saved.plan.restored()));
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
        self.plan.set(Some(plan));
        self.step(|m| m.start(browser::random_id()));
    }

    /// A new plan on this page (under `id`) that the server saves itself as it starts
    /// writing it; the plan it replaces is sent now if it has unsaved changes.
    pub fn start_on_server(self, id: String, plan: Plan) {
        if let Some(previous) = self.snapshot().filter(|b| b.dirty) {
            leptos::task::spawn_local(async move {
                send_buffer(previous).await;
            });
        }
        self.plan.set(Some(plan));
        self.machine.update(|m| m.start_on_server(id));
    }

    /// The server saved the page's new plan at `revision`.
    pub fn saved_by_server(self, revision: i64, updated_at: String) {
        self.step(|m| m.saved_by_server(revision, updated_at));
    }

    /// The server could not take the new plan: it is saved as any other.
    pub fn start_failed(self) {
        self.step(Machine::start_failed);
    }

    /// The server saved a change of its own that the page applied.
    pub fn server_saved(self, base: i64, revision: i64, updated_at: String) {
        self.machine
            .update(|m| m.server_saved(base, revision, updated_at));
    }

    /// The server's revision the page's copy is based on.
    pub fn revision(self) -> i64 {
        self.machine.with_untracked(|m| m.revision)
    }

    /// The plan on the page as its buffer holds it.
    fn snapshot(self) -> Option<Buffer> {
        let kept = self.machine.with_untracked(Machine::kept)?;
        Some(Buffer::of(kept, self.plan.get_untracked()?))
    }

    /// The plan changed: saved after `delay_ms`, with an automatic version when `note` says
    /// what was generated.
    pub fn changed(self, note: Option<String>, delay_ms: u64) {
        self.step(|m| m.changed(note, delay_ms));
    }

    /// Sends the plan now, unless it is saved, being saved, or waiting for the writer to
    /// settle a conflict.
    pub fn flush(self) {
        let plan = self.plan.get_untracked();
        self.step(|m| m.flush(plan));
    }

    /// A save of a plan no longer on the page landed: its buffer is clean at `revision`,
    /// unless it changed since; anything else leaves it to be sent again when the page next
    /// loads.
    fn settle_buffer(self, sent: &SaveRequest, revision: i64) {
        let Some(user) = self.user.get_untracked() else {
            return;
        };
        let key = buffer_key(&user, &sent.id);
        if let Some(mut buffer) = read_buffer(&key) {
            buffer.revision = revision;
            buffer.dirty = buffer.plan != sent.plan;
            if let Ok(json) = serde_json::to_string(&buffer) {
                let _ = browser::save(&key, &json);
            }
        }
    }

    /// Settles a conflict for this page's text; the other text is kept as a version.
    pub fn keep_mine(self) {
        self.step(Machine::keep_mine);
    }

    /// Settles a conflict for the other text; this page's text is kept as a version first.
    pub fn take_theirs(self) {
        let Some(current) = self.machine.with_untracked(|m| m.conflict().cloned()) else {
            return;
        };
        let Some(mine) = self.plan.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            let note = "保存冲突时本窗口的内容".to_owned();
            match keep_version(current.id.clone(), note, mine, true).await {
                Ok(_) => {
                    self.adopt(current);
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
        if self.machine.with_untracked(|m| m.revision) == 0 {
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
