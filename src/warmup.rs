//! Cache warm-up: lists of generate requests run in the background with bounded concurrency —
//! from `WARMUP_FILE` at startup, or every section of a template from the dashboard. Warm-up
//! never delays startup or user requests; its failures are reported, never fatal.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use futures::StreamExt;

use crate::{
    generation::{plan::Writing, GenerationService, PlanRequest},
    model::{GenerateBody, SectionEvent, WarmupJobView},
};

/// Generations running at once per job, so warm-up leaves room for users.
const CONCURRENCY: usize = 2;
/// Jobs kept for the dashboard.
const KEEP_JOBS: usize = 10;
/// Error messages kept per job.
const KEEP_ERRORS: usize = 5;

struct Job {
    id: u64,
    label: String,
    total: u64,
    done: AtomicU64,
    failed: AtomicU64,
    finished: AtomicBool,
    errors: Mutex<Vec<String>>,
}

impl Job {
    fn fail(&self, message: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        if errors.len() < KEEP_ERRORS {
            errors.push(message);
        }
    }

    fn view(&self) -> WarmupJobView {
        WarmupJobView {
            id: self.id,
            label: self.label.clone(),
            total: self.total,
            done: self.done.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            finished: self.finished.load(Ordering::Relaxed),
            errors: self
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// One entry of a warm-up list: a request, or why it could not be read.
pub type Entry = Result<GenerateBody, String>;

#[derive(Default)]
pub struct Warmup {
    next_id: AtomicU64,
    jobs: Mutex<Vec<Arc<Job>>>,
}

impl Warmup {
    fn register(&self, label: String, total: u64) -> Arc<Job> {
        let job = Arc::new(Job {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            label,
            total,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            finished: AtomicBool::new(false),
            errors: Mutex::new(Vec::new()),
        });
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.push(job.clone());
        let excess = jobs.len().saturating_sub(KEEP_JOBS);
        jobs.drain(..excess);
        job
    }

    /// Starts a job in the background and returns its id at once.
    pub fn start(
        &self,
        generation: Arc<GenerationService>,
        label: String,
        entries: Vec<Entry>,
    ) -> u64 {
        let job = self.register(label, entries.len() as u64);
        let id = job.id;
        tokio::spawn(async move {
            futures::stream::iter(entries.into_iter().enumerate())
                .for_each_concurrent(CONCURRENCY, |(i, entry)| {
                    let generation = generation.clone();
                    let job = job.clone();
                    async move {
                        let outcome = match entry.and_then(|body| {
                            generation.read_section(body).map_err(|e| e.to_string())
                        }) {
                            Ok(request) => generation
                                .generate(&request)
                                .await
                                .map(drop)
                                .map_err(|e| e.to_string()),
                            Err(reason) => Err(reason),
                        };
                        if let Err(reason) = outcome {
                            job.fail(format!("第 {} 项：{reason}", i + 1));
                        }
                        job.done.fetch_add(1, Ordering::Relaxed);
                    }
                })
                .await;
            finish(&job);
        });
        id
    }

    /// Starts writing a whole plan in the background, as the generator page's "生成整份预案"
    /// does (context section first, its text given to the others), so a plan asked for later
    /// comes from the cache. Returns the job's id at once.
    pub fn start_plan(
        &self,
        generation: Arc<GenerationService>,
        label: String,
        plan: PlanRequest,
    ) -> u64 {
        let job = self.register(label, plan.template.sections.len() as u64);
        let id = job.id;
        tokio::spawn(async move {
            let titles: Vec<(String, String)> = plan
                .template
                .sections
                .iter()
                .map(|s| (s.id.clone(), s.title.clone()))
                .collect();
            let mut events = generation.plan_events(plan, Writing::Whole, CONCURRENCY);
            while let Some(event) = events.next().await {
                if !event.event.is_last() {
                    continue;
                }
                if let SectionEvent::Error { message, .. } = &event.event {
                    let title = titles
                        .iter()
                        .find(|(id, _)| *id == event.section_id)
                        .map_or("", |(_, title)| title.as_str());
                    job.fail(format!("{title}：{message}"));
                }
                job.done.fetch_add(1, Ordering::Relaxed);
            }
            finish(&job);
        });
        id
    }

    /// Newest first.
    pub fn jobs(&self) -> Vec<WarmupJobView> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.iter().rev().map(|j| j.view()).collect()
    }
}

/// Marks a job finished and logs how it went.
fn finish(job: &Job) {
    job.finished.store(true, Ordering::Relaxed);
    let view = job.view();
    if view.failed == 0 {
        tracing::info!("缓存预热完成（{}）：{} 项", view.label, view.total);
    } else {
        tracing::warn!(
            "缓存预热完成（{}）：{} 项，其中 {} 项失败：{}",
            view.label,
            view.total,
            view.failed,
            view.errors.join("；")
        );
    }
}

/// Reads a warm-up file: a JSON array of `POST /api/ai/generate` bodies. An entry that is not
/// one is reported on its own; the others still run.
pub fn read_file(path: &Path) -> Result<Vec<Entry>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("无法读取预热文件 {}: {e}", path.display()))?;
    let items: Vec<serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| format!("预热文件 {} 应为 JSON 数组: {e}", path.display()))?;
    Ok(items
        .into_iter()
        .map(|item| {
            serde_json::from_value::<GenerateBody>(item)
                .map_err(|e| format!("不是有效的生成请求（{e}）"))
        })
        .collect())
}
