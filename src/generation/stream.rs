//! Writing one section as a stream of events, so the writer watches the text arrive.
//!
//! A cache hit streams the stored text at once. A miss streams the model's pieces as they come;
//! only a complete answer is cached, never one that broke off. The model stream is driven by its
//! own task: a writer who leaves mid-way does not waste the answer, which is still cached.
//! Across instances a stream takes the same Redis lock as the plain path, so a second instance
//! waits for the first one's answer; within one process, identical streams are not merged.

use std::{
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::{
    claim, lock_ttl, CachedSection, Claim, GenerationError, GenerationService, Keep, SectionRequest,
};
use crate::{
    ai::{GenerateInput, Piece, TextStream, Usage},
    cache::CacheService,
    coord::{Coordination, HeldLock},
    model::SectionEvent,
    prompt::{self, Prompt},
    templates::Section,
    usage::{Accounts, Payer},
};

pub type SectionEvents = Pin<Box<dyn Stream<Item = SectionEvent> + Send>>;

/// Events buffered between the model task and a slow reader.
const BUFFER: usize = 64;
/// How long the writing task waits for a reader to take an event before it lets the reader go.
const PATIENCE: Duration = Duration::from_secs(10);

/// The reading end of a stream, as the task writing it sees it. A reader that leaves, or stops
/// taking events for `PATIENCE` while the buffer is full, is let go: its stream ends there, and
/// the task goes on to finish (and cache) the answer without waiting for it.
pub(super) struct Reader<T>(Option<mpsc::Sender<T>>);

impl<T: Send + 'static> Reader<T> {
    pub(super) fn new() -> (Self, Pin<Box<dyn Stream<Item = T> + Send>>) {
        let (tx, rx) = mpsc::channel(BUFFER);
        let events = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|event| (event, rx))
        });
        (Self(Some(tx)), Box::pin(events))
    }

    pub(super) async fn send(&mut self, event: T) {
        let Some(tx) = &self.0 else {
            return;
        };
        if !matches!(
            tokio::time::timeout(PATIENCE, tx.send(event)).await,
            Ok(Ok(()))
        ) {
            self.0 = None;
        }
    }
}

impl GenerationService {
    /// Starts writing a section. Errors before any text (bad request, the model failing on
    /// every attempt with nothing stale to fall back on) come back as `Err`, like `generate`'s.
    pub async fn stream(&self, req: &SectionRequest) -> Result<SectionEvents, GenerationError> {
        let started = Instant::now();
        let key = self.key(req);
        let (template, section, info) = (&req.template, req.section(), &req.info);
        let start = |model: &str, cached: bool, stale: bool| SectionEvent::Start {
            template_id: template.id.clone(),
            section_id: section.id.clone(),
            section_title: section.title.clone(),
            model: model.to_owned(),
            cached,
            stale,
        };
        let payer = req.payer.as_ref().map(Payer::name);
        let whole = |entry: CachedSection, stale: bool| -> SectionEvents {
            entry.served(&self.accounts, payer);
            let events = [
                start(&entry.model, true, stale),
                SectionEvent::Text {
                    text: entry.content.to_string(),
                },
                SectionEvent::Done {
                    elapsed_ms: started.elapsed().as_millis() as u64,
                    check: Arc::unwrap_or_clone(entry.check(section)),
                },
            ];
            Box::pin(futures::stream::iter(events))
        };

        let (fresh, stale) = self.cached(&key, req.refresh).await;
        if let Some(hit) = fresh {
            return Ok(whole(hit, false));
        }
        // One writer per key across instances, as on the plain path: a second instance waits
        // for the first one's answer instead of paying for its own model call.
        let lock = match claim(
            &self.cache,
            &self.coord,
            &key,
            lock_ttl(&self.ai),
            req.refresh,
        )
        .await?
        {
            Claim::Answered(answer) => return Ok(whole(answer, false)),
            Claim::Writer(lock) => lock,
        };
        let prompt = prompt::build(
            template,
            section,
            info,
            req.context.as_deref(),
            req.facts.as_deref(),
        );
        let pieces = self
            .ai
            .stream(GenerateInput {
                template,
                section,
                info,
                prompt: &prompt,
                context: req.context.as_deref(),
                facts: req.facts.as_deref(),
            })
            .await;
        let pieces = match pieces {
            Ok(pieces) => pieces,
            Err(e) => {
                if let Some(lock) = lock {
                    lock.release().await;
                }
                let Some(old) = stale else {
                    return Err(e.into());
                };
                tracing::warn!("AI 生成失败，返回过期缓存: {}", e.log_detail());
                self.cache.record_stale_served();
                return Ok(whole(old, true));
            }
        };

        let (mut reader, events) = Reader::new();
        reader.send(start(self.ai.model(), false, false)).await;
        self.spawn(drive(
            pieces,
            reader,
            Sink {
                cache: self.cache.clone(),
                coord: self.coord.clone(),
                accounts: self.accounts.clone(),
                payer: req.payer.clone(),
                prompt: prompt.clone(),
                key,
                section: section.clone(),
                model: self.ai.model().to_owned(),
                lock,
                keep_incomplete: self.keep_incomplete,
            },
            started,
        ));
        Ok(events)
    }
}

/// Where a complete answer goes, who it is counted to, and the cross-instance lock to give
/// back after.
struct Sink {
    cache: Arc<CacheService>,
    coord: Arc<Coordination>,
    accounts: Arc<Accounts>,
    /// Holds the user's place under their limit until the answer is done.
    payer: Option<Payer>,
    /// What was asked, to estimate what an answer that broke off used.
    prompt: Prompt,
    key: String,
    /// The section written: its time to live and its elements of the standard.
    section: Section,
    model: String,
    lock: Option<HeldLock>,
    keep_incomplete: bool,
}

impl Sink {
    async fn release(self) {
        if let Some(lock) = self.lock {
            lock.release().await;
        }
    }
}

/// Forwards the model's pieces, then caches the whole answer. Keeps going when the reader has
/// left or stopped reading: the answer is still cached for the next request.
async fn drive(
    mut pieces: TextStream,
    mut reader: Reader<SectionEvent>,
    sink: Sink,
    started: Instant,
) {
    let mut content = String::new();
    let mut usage = None;
    while let Some(piece) = pieces.next().await {
        match piece {
            Ok(Piece::Text(text)) => {
                content.push_str(&text);
                reader.send(SectionEvent::Text { text }).await;
            }
            Ok(Piece::Usage(used)) => usage = Some(used),
            Err(e) => {
                // The provider charges for what it wrote before breaking off.
                let used = Usage::estimate(&sink.prompt, &content);
                sink.accounts
                    .spent(sink.payer.as_ref().map(Payer::name), &used)
                    .await;
                sink.release().await;
                reader
                    .send(SectionEvent::Error {
                        code: "AI_STREAM_INTERRUPTED".to_owned(),
                        message: e.to_string(),
                    })
                    .await;
                return;
            }
        }
    }
    let content = content.trim();
    if content.is_empty() {
        sink.release().await;
        reader
            .send(SectionEvent::Error {
                code: "AI_UPSTREAM_ERROR".to_owned(),
                message: "AI 服务返回了空内容，请重新生成".to_owned(),
            })
            .await;
        return;
    }
    let usage = usage.unwrap_or_default();
    sink.accounts
        .spent(sink.payer.as_ref().map(Payer::name), &usage)
        .await;
    let keep = Keep {
        cache: &sink.cache,
        coord: &sink.coord,
        key: &sink.key,
        ttl: sink.section.ttl,
        incomplete_too: sink.keep_incomplete,
        waited_on: sink.lock.is_some(),
    };
    let section = CachedSection::new(
        &sink.section,
        content.to_owned(),
        &sink.model,
        usage,
        started.elapsed(),
    );
    section.keep(&keep).await;
    let check = Arc::unwrap_or_clone(section.check(&sink.section));
    sink.release().await;
    reader
        .send(SectionEvent::Done {
            elapsed_ms: started.elapsed().as_millis() as u64,
            check,
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_stops_reading_is_let_go() {
        let (mut reader, events) = Reader::<u32>::new();
        for n in 0..BUFFER as u32 {
            reader.send(n).await;
        }
        // The buffer is full and nobody reads: the next event waits out the patience once...
        let started = tokio::time::Instant::now();
        reader.send(99).await;
        assert_eq!(started.elapsed(), PATIENCE);
        // ...then the reader is gone: the writer no longer waits at all.
        reader.send(100).await;
        assert_eq!(started.elapsed(), PATIENCE);
        drop(reader);
        // What the reader had been sent before it was let go is still there; then it ends.
        let got: Vec<u32> = events.collect().await;
        assert_eq!(got, (0..BUFFER as u32).collect::<Vec<_>>());
    }
}
