//! The autosave's decisions, apart from signals, timers and storage: a plain state that each
//! event moves on, answering with the commands the shell (`sync`) carries out — schedule a
//! timer, send a save, write an answer into another plan's buffer, tell the writer something.
//! Debounce, the retry schedule, conflicts, a lost answer and settling all happen here, and are
//! tested here.

use crate::model::{AppError, Plan, SaveOutcome, SaveRequest, SavedPlan};

/// The pause in typing after which an edit is sent.
pub const EDIT_DELAY_MS: u64 = 1200;
/// The first wait before a failed save is tried again; it doubles up to `RETRY_MAX_MS`.
pub const RETRY_FIRST_MS: u64 = 2000;
pub const RETRY_MAX_MS: u64 = 60_000;

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

/// A save on its way, as the machine needs it back with the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub request: SaveRequest,
    /// The change count when it was sent: a different one at the answer means more came.
    changes: u64,
    /// How many notes it carried (dropped once saved; later ones stay).
    notes: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Call `timer_fired(ticket)` after `ms`.
    Schedule { ticket: u64, ms: u64 },
    /// Call `flush` with the plan on the page.
    Flush,
    /// Send this save, then call `answered` (or `timed_out`, should no answer come).
    Send(Sent),
    /// A plan no longer on the page was saved at `revision`: its buffer is clean at that
    /// revision, unless it changed since `sent`.
    SettleBuffer { sent: SaveRequest, revision: i64 },
    /// Tell the writer.
    Notice(String),
}

/// What a plan's buffer holds besides its text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kept {
    pub id: String,
    pub revision: i64,
    pub dirty: bool,
    pub notes: Vec<String>,
    pub keep_replaced: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    pub id: Option<String>,
    /// The server's revision the page's text is based on; 0: not on the server yet.
    pub revision: i64,
    /// Changed since the server last took it.
    pub dirty: bool,
    /// Notes for the automatic version the next save keeps (sections generated).
    pub notes: Vec<String>,
    /// The next save settles a conflict for this text (the other one is kept as a version).
    pub keep_replaced: bool,
    pub state: SaveState,
    in_flight: bool,
    changes: u64,
    /// Debounce: only the latest scheduled save runs.
    timer: u64,
    retry_ms: u64,
    /// The plan of a save whose answer never came (it may have landed): a conflict with
    /// exactly that text is this page's own save, not another writer's.
    unanswered: Option<Plan>,
    /// Saves the server made itself (a job writing a section the page applied), as revision
    /// before and after: each moves the page's base on once the page's base reaches it.
    server_steps: Vec<(i64, i64)>,
    /// The server is saving the page's new plan itself (its job starts with it): nothing is
    /// sent until it has.
    starting: bool,
}

impl Default for Machine {
    fn default() -> Self {
        Self {
            id: None,
            revision: 0,
            dirty: false,
            notes: Vec::new(),
            keep_replaced: false,
            state: SaveState::Idle,
            in_flight: false,
            changes: 0,
            timer: 0,
            retry_ms: RETRY_FIRST_MS,
            unanswered: None,
            server_steps: Vec::new(),
            starting: false,
        }
    }
}

/// Server saves remembered at most, waiting for the page's base to reach them.
const MAX_SERVER_STEPS: usize = 200;

impl Machine {
    /// What the buffer of the plan on the page holds besides its text.
    pub fn kept(&self) -> Option<Kept> {
        Some(Kept {
            id: self.id.clone()?,
            revision: self.revision,
            dirty: self.dirty,
            notes: self.notes.clone(),
            keep_replaced: self.keep_replaced,
        })
    }

    /// No plan on the page (another user's browser buffers are about to be used).
    pub fn clear(&mut self) {
        self.id = None;
    }

    /// A plan picked up from this browser's buffer; an unsaved one is sent at once.
    pub fn resume(&mut self, kept: Kept) -> Vec<Command> {
        self.id = Some(kept.id);
        self.revision = kept.revision;
        self.dirty = kept.dirty;
        self.notes = kept.notes;
        self.keep_replaced = kept.keep_replaced;
        if self.dirty {
            self.state = SaveState::Unsaved;
            vec![Command::Flush]
        } else {
            self.state = SaveState::Saved(String::new());
            Vec::new()
        }
    }

    /// The plan as the server has it, now the page's.
    pub fn adopt(&mut self, saved: &SavedPlan) {
        self.server_steps.clear();
        self.starting = false;
        self.id = Some(saved.id.clone());
        self.revision = saved.revision;
        self.dirty = false;
        self.notes.clear();
        self.keep_replaced = false;
        self.state = SaveState::Saved(saved.updated_at.clone());
    }

    /// A plan is being read from the server.
    pub fn loading(&mut self) {
        self.state = SaveState::Saving;
    }

    /// Reading it failed: the buffer's copy stands in (`buffered`), or there is nothing to show.
    pub fn load_failed(&mut self, e: &AppError, buffered: bool) {
        self.state = if buffered {
            SaveState::Offline(e.message.clone())
        } else {
            SaveState::Refused(format!("无法打开该预案：{}", e.message))
        };
    }

    /// A new plan under `id`, not on the server yet.
    fn begin(&mut self, id: String, state: SaveState) {
        self.server_steps.clear();
        self.starting = false;
        self.id = Some(id);
        self.revision = 0;
        self.dirty = false;
        self.notes.clear();
        self.keep_replaced = false;
        self.retry_ms = RETRY_FIRST_MS;
        self.state = state;
    }

    /// A new plan under `id`, saved at once.
    pub fn start(&mut self, id: String) -> Vec<Command> {
        self.begin(id, SaveState::Unsaved);
        self.changed(None, 0)
    }

    /// A new plan under `id` that the server saves itself, as it starts writing it.
    pub fn start_on_server(&mut self, id: String) {
        self.begin(id, SaveState::Saving);
        self.starting = true;
    }

    /// The server saved the page's plan at `revision`: what changed since is sent.
    pub fn saved_by_server(&mut self, revision: i64, updated_at: String) -> Vec<Command> {
        self.starting = false;
        self.revision = self.revision.max(revision);
        self.follow_server();
        if self.dirty {
            self.state = SaveState::Unsaved;
            vec![self.schedule(0)]
        } else {
            self.state = SaveState::Saved(updated_at);
            Vec::new()
        }
    }

    /// The server could not take the new plan: the page saves it as any other.
    pub fn start_failed(&mut self) -> Vec<Command> {
        self.starting = false;
        self.changed(None, 0)
    }

    /// The server saved a change of its own (`base` → `revision`), which the page applied
    /// to its copy.
    pub fn server_saved(&mut self, base: i64, revision: i64, updated_at: String) {
        if revision <= self.revision || base == revision {
            return;
        }
        if self.server_steps.len() >= MAX_SERVER_STEPS {
            self.server_steps.remove(0);
        }
        self.server_steps.push((base, revision));
        self.follow_server();
        if !self.dirty && !self.in_flight && self.revision == revision {
            self.state = SaveState::Saved(updated_at);
        }
    }

    /// Moves the page's base along the server's own saves that start from it.
    fn follow_server(&mut self) {
        while let Some(at) = self
            .server_steps
            .iter()
            .position(|(base, _)| *base == self.revision)
        {
            self.revision = self.server_steps.remove(at).1;
        }
        let revision = self.revision;
        self.server_steps.retain(|(_, after)| *after > revision);
    }

    /// The plan changed: saved after `delay_ms`, with an automatic version when `note` says
    /// what was generated.
    pub fn changed(&mut self, note: Option<String>, delay_ms: u64) -> Vec<Command> {
        if self.id.is_none() {
            return Vec::new();
        }
        self.dirty = true;
        self.changes += 1;
        self.notes.extend(note);
        if !matches!(self.state, SaveState::Conflict(_) | SaveState::Offline(_)) {
            self.state = SaveState::Unsaved;
        }
        vec![self.schedule(delay_ms)]
    }

    fn schedule(&mut self, ms: u64) -> Command {
        self.timer += 1;
        Command::Schedule {
            ticket: self.timer,
            ms,
        }
    }

    /// A timer went off: only the latest one sends.
    pub fn timer_fired(&self, ticket: u64) -> Vec<Command> {
        if ticket == self.timer {
            vec![Command::Flush]
        } else {
            Vec::new()
        }
    }

    /// Sends `plan` now, unless it is saved, being saved, or waiting for the writer to settle
    /// a conflict.
    pub fn flush(&mut self, plan: Option<Plan>) -> Vec<Command> {
        if !self.dirty
            || self.in_flight
            || self.starting
            || matches!(self.state, SaveState::Conflict(_))
        {
            return Vec::new();
        }
        let (Some(id), Some(plan)) = (self.id.clone(), plan) else {
            return Vec::new();
        };
        self.in_flight = true;
        self.state = SaveState::Saving;
        vec![Command::Send(Sent {
            request: SaveRequest {
                id,
                revision: self.revision,
                plan,
                snapshot: note_of(&self.notes),
                keep_replaced: self.keep_replaced,
            },
            changes: self.changes,
            notes: self.notes.len(),
        })]
    }

    /// No answer came in time: the save may have landed, so a conflict with exactly its text
    /// later is this page's own.
    pub fn timed_out(&mut self, sent: Sent) -> Vec<Command> {
        self.unanswered = Some(sent.request.plan.clone());
        let lost = AppError::new(crate::model::ErrorCode::Unreachable, "保存超时");
        self.answered(sent, Err(lost))
    }

    /// The server's answer to `sent`.
    pub fn answered(&mut self, sent: Sent, outcome: Result<SaveOutcome, AppError>) -> Vec<Command> {
        self.in_flight = false;
        if self.id.as_ref() != Some(&sent.request.id) {
            // Another plan is on the page now: the answer only concerns the buffer of the one
            // that was sent; the page's own plan is sent next if it has changes.
            let mut commands = Vec::new();
            if let Ok(SaveOutcome::Saved { revision, .. }) = outcome {
                commands.push(Command::SettleBuffer {
                    sent: sent.request,
                    revision,
                });
            }
            commands.push(Command::Flush);
            return commands;
        }
        match outcome {
            Ok(SaveOutcome::Saved {
                revision,
                updated_at,
            }) => {
                self.revision = revision;
                self.follow_server();
                self.keep_replaced = false;
                self.unanswered = None;
                self.retry_ms = RETRY_FIRST_MS;
                let done = sent.notes.min(self.notes.len());
                self.notes.drain(..done);
                self.dirty = self.changes != sent.changes;
                if self.dirty {
                    // Changed again while this save was on its way: that is saved next.
                    self.state = SaveState::Unsaved;
                    vec![self.schedule(EDIT_DELAY_MS)]
                } else {
                    self.state = SaveState::Saved(updated_at);
                    Vec::new()
                }
            }
            Ok(SaveOutcome::Conflict(current))
                if self.unanswered.as_ref() == Some(&current.plan) =>
            {
                // Our own earlier save, whose answer was lost: go on from its revision.
                self.unanswered = None;
                self.revision = current.revision;
                self.state = SaveState::Unsaved;
                vec![self.schedule(0)]
            }
            Ok(SaveOutcome::Conflict(current))
                if {
                    self.follow_server();
                    current.revision == self.revision
                } =>
            {
                // Only the server's own saves came in between, and the page has them.
                self.state = SaveState::Unsaved;
                vec![self.schedule(0)]
            }
            Ok(SaveOutcome::Conflict(current)) => {
                self.state = SaveState::Conflict(current);
                Vec::new()
            }
            Err(e) if !e.retryable => {
                self.state = SaveState::Refused(e.message);
                Vec::new()
            }
            Err(e) => {
                self.state = SaveState::Offline(e.message);
                let wait = self.retry_ms;
                self.retry_ms = (wait * 2).min(RETRY_MAX_MS);
                vec![self.schedule(wait)]
            }
        }
    }

    /// The plan saved elsewhere that this page's text conflicts with, if any.
    pub fn conflict(&self) -> Option<&SavedPlan> {
        match &self.state {
            SaveState::Conflict(current) => Some(current),
            _ => None,
        }
    }

    /// Settles a conflict for this page's text; the other text is kept as a version.
    pub fn keep_mine(&mut self) -> Vec<Command> {
        let Some(revision) = self.conflict().map(|c| c.revision) else {
            return Vec::new();
        };
        self.revision = revision;
        self.keep_replaced = true;
        self.dirty = true;
        self.state = SaveState::Unsaved;
        vec![
            Command::Notice("已保留本窗口的内容；另一处的内容已存为版本".into()),
            Command::Flush,
        ]
    }
}

/// The notes of the sections generated since the last save (each `动作：N. 标题`), as one
/// version note that stays short: listed when they are few, else counted by what was done
/// (`生成 9 章`).
pub fn note_of(notes: &[String]) -> Option<String> {
    use crate::model::saved::MAX_NOTE_CHARS;
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
    use crate::model::ErrorCode;

    fn plan(text: &str) -> Plan {
        serde_json::from_value(serde_json::json!({
            "run": 1,
            "template_id": "t",
            "template_name": "综合应急预案",
            "context_section": null,
            "enterprise_name": text,
            "data": {"enterprise_info": {}},
            "sections": [],
        }))
        .expect("a plan")
    }

    fn saved(revision: i64, at: &str) -> Result<SaveOutcome, AppError> {
        Ok(SaveOutcome::Saved {
            revision,
            updated_at: at.to_owned(),
        })
    }

    fn on_server(id: &str, revision: i64, text: &str) -> Box<SavedPlan> {
        Box::new(SavedPlan {
            id: id.to_owned(),
            title: text.to_owned(),
            revision,
            created_at: String::new(),
            updated_at: String::new(),
            plan: plan(text),
        })
    }

    /// A machine with plan `a` on the page, saved at revision 3.
    fn clean() -> Machine {
        let mut m = Machine::default();
        m.resume(Kept {
            id: "a".into(),
            revision: 3,
            ..Kept::default()
        });
        m
    }

    fn sent(commands: Vec<Command>) -> Sent {
        match commands.as_slice() {
            [Command::Send(sent)] => sent.clone(),
            other => panic!("expected one send, got {other:?}"),
        }
    }

    fn ticket(commands: &[Command]) -> (u64, u64) {
        match commands {
            [Command::Schedule { ticket, ms }] => (*ticket, *ms),
            other => panic!("expected one timer, got {other:?}"),
        }
    }

    #[test]
    fn a_change_waits_for_a_pause_and_only_the_latest_timer_sends() {
        let mut m = clean();
        let (first, ms) = ticket(&m.changed(None, EDIT_DELAY_MS));
        assert_eq!(ms, EDIT_DELAY_MS);
        assert_eq!(m.state, SaveState::Unsaved);
        let (second, _) = ticket(&m.changed(None, EDIT_DELAY_MS));
        assert!(m.timer_fired(first).is_empty());
        assert_eq!(m.timer_fired(second), vec![Command::Flush]);
    }

    #[test]
    fn a_save_names_its_revision_and_notes_and_one_goes_at_a_time() {
        let mut m = clean();
        assert!(m.flush(Some(plan("x"))).is_empty(), "nothing changed");
        m.changed(Some("生成：1. 总则".into()), 0);
        let s = sent(m.flush(Some(plan("x"))));
        assert_eq!(s.request.revision, 3);
        assert_eq!(s.request.snapshot.as_deref(), Some("生成：1. 总则"));
        assert_eq!(m.state, SaveState::Saving);
        m.changed(None, 0);
        assert!(m.flush(Some(plan("y"))).is_empty(), "one in flight");
        assert!(m.flush(None).is_empty());
    }

    #[test]
    fn a_saved_answer_settles_the_plan() {
        let mut m = clean();
        m.changed(Some("生成：1. 总则".into()), 0);
        let s = sent(m.flush(Some(plan("x"))));
        assert!(m
            .answered(s, saved(4, "2026-12-03T10:00:00+08:00"))
            .is_empty());
        assert_eq!(m.revision, 4);
        assert!(!m.dirty);
        assert!(m.notes.is_empty());
        assert_eq!(
            m.state,
            SaveState::Saved("2026-12-03T10:00:00+08:00".into())
        );
    }

    #[test]
    fn changes_made_while_a_save_travels_are_saved_next_with_their_notes() {
        let mut m = clean();
        m.changed(Some("生成：1. 总则".into()), 0);
        let s = sent(m.flush(Some(plan("x"))));
        m.changed(Some("生成：2. 概况".into()), 0);
        let (_, ms) = ticket(&m.answered(s, saved(4, "t")));
        assert_eq!(ms, EDIT_DELAY_MS);
        assert!(m.dirty);
        assert_eq!(m.state, SaveState::Unsaved);
        assert_eq!(m.notes, vec!["生成：2. 概况".to_owned()]);
    }

    #[test]
    fn a_conflict_waits_for_the_writer_and_keeping_mine_sends_over_it() {
        let mut m = clean();
        m.changed(None, 0);
        let s = sent(m.flush(Some(plan("mine"))));
        assert!(m
            .answered(s, Ok(SaveOutcome::Conflict(on_server("a", 7, "theirs"))))
            .is_empty());
        assert!(matches!(m.state, SaveState::Conflict(_)));
        m.changed(None, 0);
        assert!(matches!(m.state, SaveState::Conflict(_)), "still to settle");
        assert!(
            m.flush(Some(plan("mine"))).is_empty(),
            "not while in conflict"
        );
        let commands = m.keep_mine();
        assert!(matches!(
            commands.as_slice(),
            [Command::Notice(_), Command::Flush]
        ));
        let s = sent(m.flush(Some(plan("mine"))));
        assert_eq!(s.request.revision, 7);
        assert!(s.request.keep_replaced);
        m.answered(s, saved(8, "t"));
        assert!(!m.keep_replaced);
        assert!(m.keep_mine().is_empty(), "no conflict left");
    }

    #[test]
    fn a_save_whose_answer_was_lost_is_recognised_as_our_own() {
        let mut m = clean();
        m.changed(None, 0);
        let s = sent(m.flush(Some(plan("mine"))));
        let (_, wait) = ticket(&m.timed_out(s));
        assert_eq!(wait, RETRY_FIRST_MS);
        assert_eq!(m.state, SaveState::Offline("保存超时".into()));
        let s = sent(m.flush(Some(plan("mine"))));
        // It had landed: the server has exactly this text at revision 4.
        let (_, now) = ticket(&m.answered(s, Ok(SaveOutcome::Conflict(on_server("a", 4, "mine")))));
        assert_eq!(now, 0);
        assert_eq!(m.revision, 4);
        assert_eq!(m.state, SaveState::Unsaved);
    }

    #[test]
    fn an_outage_is_retried_ever_more_slowly_and_a_refusal_is_not() {
        let mut m = clean();
        m.changed(None, 0);
        let down = || {
            Err(AppError::new(
                ErrorCode::StoreUnavailable,
                "预案库暂时无法访问",
            ))
        };
        let mut waits = Vec::new();
        for _ in 0..7 {
            let s = sent(m.flush(Some(plan("x"))));
            waits.push(ticket(&m.answered(s, down())).1);
        }
        assert_eq!(waits, [2000, 4000, 8000, 16000, 32000, 60000, 60000]);
        assert!(matches!(m.state, SaveState::Offline(_)));
        m.changed(None, 0);
        assert!(
            matches!(m.state, SaveState::Offline(_)),
            "offline until it lands"
        );
        let s = sent(m.flush(Some(plan("x"))));
        m.answered(s, saved(4, "t"));
        let s = {
            m.changed(None, 0);
            sent(m.flush(Some(plan("y"))))
        };
        let gone = Err(AppError::new(ErrorCode::NotFound, "预案不存在或已删除"));
        assert!(m.answered(s, gone).is_empty());
        assert_eq!(m.state, SaveState::Refused("预案不存在或已删除".into()));
        // The schedule started again after the save that landed.
        assert_eq!(m.retry_ms, RETRY_FIRST_MS);
    }

    #[test]
    fn an_answer_for_a_plan_no_longer_on_the_page_goes_to_its_buffer() {
        let mut m = clean();
        m.changed(None, 0);
        let s = sent(m.flush(Some(plan("old"))));
        m.start("b".into());
        let commands = m.answered(s.clone(), saved(4, "t"));
        assert_eq!(
            commands,
            vec![
                Command::SettleBuffer {
                    sent: s.request.clone(),
                    revision: 4
                },
                Command::Flush
            ]
        );
        assert_eq!(m.id.as_deref(), Some("b"));
        assert_eq!(m.revision, 0);
        let failed = m.answered(s, Err(AppError::unreachable()));
        assert_eq!(failed, vec![Command::Flush]);
    }

    #[test]
    fn opening_starting_and_adopting_set_the_plan_apart() {
        let mut m = Machine::default();
        assert!(m.changed(None, 0).is_empty(), "no plan, nothing to save");
        let commands = m.resume(Kept {
            id: "a".into(),
            revision: 2,
            dirty: true,
            notes: vec!["生成：1. 总则".into()],
            keep_replaced: false,
        });
        assert_eq!(commands, vec![Command::Flush]);
        assert_eq!(m.state, SaveState::Unsaved);
        m.adopt(&on_server("a", 5, "x"));
        assert_eq!((m.revision, m.dirty), (5, false));
        assert!(m.notes.is_empty());
        let (_, ms) = ticket(&m.start("c".into()));
        assert_eq!(ms, 0);
        assert_eq!((m.revision, m.dirty), (0, true));
        m.loading();
        assert_eq!(m.state, SaveState::Saving);
        let e = AppError::unreachable();
        m.load_failed(&e, true);
        assert!(matches!(m.state, SaveState::Offline(_)));
        m.load_failed(&e, false);
        assert!(matches!(&m.state, SaveState::Refused(why) if why.starts_with("无法打开该预案")));
    }

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

    #[test]
    fn a_plan_the_server_starts_is_not_sent_until_the_server_saved_it() {
        let mut m = Machine::default();
        m.start_on_server("a".into());
        assert!(m.changed(None, 0).len() == 1);
        assert!(
            m.flush(Some(plan("edited meanwhile"))).is_empty(),
            "waits for the server"
        );
        let commands = m.saved_by_server(1, "t1".into());
        assert_eq!(ticket(&commands).1, 0);
        let request = sent(m.flush(Some(plan("edited meanwhile")))).request;
        assert_eq!(request.revision, 1);

        let mut m = Machine::default();
        m.start_on_server("b".into());
        assert!(m.saved_by_server(1, "t1".into()).is_empty());
        assert_eq!(m.state, SaveState::Saved("t1".into()));
        // The server could not start it: the page saves it itself.
        let mut m = Machine::default();
        m.start_on_server("c".into());
        m.start_failed();
        assert_eq!(sent(m.flush(Some(plan("c")))).request.revision, 0);
    }

    #[test]
    fn the_servers_own_saves_move_the_base_on_in_any_order() {
        let mut m = clean();
        m.server_saved(3, 4, "t4".into());
        assert_eq!(
            (m.revision, m.state.clone()),
            (4, SaveState::Saved("t4".into()))
        );
        // Arrived before the one it follows.
        m.server_saved(5, 6, "t6".into());
        assert_eq!(m.revision, 4);
        m.server_saved(4, 5, "t5".into());
        assert_eq!(m.revision, 6);
        // Old news changes nothing.
        m.server_saved(2, 3, "t3".into());
        assert_eq!(m.revision, 6);
    }

    #[test]
    fn a_save_that_crossed_a_server_save_is_sent_again_on_top_of_it() {
        let mut m = clean();
        m.changed(None, 0);
        let first = sent(m.flush(Some(plan("mine"))));
        assert_eq!(first.request.revision, 3);
        // The server's job saved a section meanwhile; the page applied it.
        m.server_saved(3, 4, "t4".into());
        let commands = m.answered(first, Ok(SaveOutcome::Conflict(on_server("a", 4, "job"))));
        assert_eq!(ticket(&commands).1, 0);
        assert_eq!(sent(m.flush(Some(plan("mine")))).request.revision, 4);
        // Another writer's save is still a conflict.
        let mut m = clean();
        m.changed(None, 0);
        let first = sent(m.flush(Some(plan("mine"))));
        m.answered(
            first,
            Ok(SaveOutcome::Conflict(on_server("a", 4, "other tab"))),
        );
        assert!(m.conflict().is_some());
    }

    #[test]
    fn a_save_answered_after_a_server_save_it_preceded_follows_it() {
        let mut m = clean();
        m.changed(None, 0);
        let first = sent(m.flush(Some(plan("mine"))));
        // Ours landed first (4), then the job's (4 → 5), whose event came first.
        m.server_saved(4, 5, "t5".into());
        m.answered(first, saved(4, "t4"));
        assert_eq!(m.revision, 5);
    }
}
