//! In-process single flight: concurrent callers with the same key share one run of the work and
//! all get its result. The work runs in a task of its own, so it finishes (and its answer is
//! cached) even when every caller has gone; the task itself takes its entry out of the map, so
//! the map never holds an entry without a running task. The tasks are tracked, so a stopping
//! instance can wait for them.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
};

use futures::{
    future::{BoxFuture, Shared},
    FutureExt,
};
use tokio_util::task::TaskTracker;

pub struct SingleFlight<T: Clone> {
    inflight: Mutex<HashMap<String, Shared<BoxFuture<'static, T>>>>,
    tasks: TaskTracker,
}

impl<T: Clone + Send + Sync + 'static> Default for SingleFlight<T> {
    fn default() -> Self {
        Self::new(TaskTracker::new())
    }
}

/// Takes a finished flight's entry out of the map, also when its work panicked.
struct Landing<T: Clone + Send + Sync + 'static> {
    flights: Arc<SingleFlight<T>>,
    key: String,
}

impl<T: Clone + Send + Sync + 'static> Drop for Landing<T> {
    fn drop(&mut self) {
        self.flights.lock().remove(&self.key);
    }
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    /// Flights whose tasks `tasks` tracks.
    pub fn new(tasks: TaskTracker) -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
            tasks,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Shared<BoxFuture<'static, T>>>> {
        self.inflight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `work` unless a run for `key` is already going, in which case waits for that one.
    pub async fn run<F>(self: &Arc<Self>, key: String, work: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
    {
        let flight = {
            let mut inflight = self.lock();
            match inflight.get(&key) {
                Some(flight) => flight.clone(),
                None => {
                    let landing = Landing {
                        flights: self.clone(),
                        key: key.clone(),
                    };
                    let task = self.tasks.spawn(async move {
                        let out = work.await;
                        drop(landing);
                        out
                    });
                    let flight = async move {
                        task.await
                            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
                    }
                    .boxed()
                    .shared();
                    inflight.insert(key, flight.clone());
                    flight
                }
            }
        };
        flight.await
    }

    /// How many flights are in the air.
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicU32, Ordering},
        time::Duration,
    };

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_run() {
        let flights = Arc::new(SingleFlight::<u32>::default());
        let runs = Arc::new(AtomicU32::new(0));
        let calls = (0..20).map(|_| {
            let runs = runs.clone();
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run("k".into(), async move {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 7
                    })
                    .await
            })
        });
        let results: Vec<u32> = futures::future::join_all(calls)
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(results.iter().all(|r| *r == 7));
        // Finished flights are forgotten: the next call runs again.
        let again = flights.run("k".into(), async { 9 }).await;
        assert_eq!(again, 9);
    }

    #[tokio::test(start_paused = true)]
    async fn the_work_survives_the_first_caller_leaving() {
        let flights = Arc::new(SingleFlight::<u32>::default());
        let first = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run("k".into(), async {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        5
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let second = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run("k".into(), async { 99 }).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        first.abort();
        assert_eq!(second.await.unwrap(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn the_work_finishes_when_every_caller_has_left() {
        let flights = Arc::new(SingleFlight::<u32>::default());
        let done = Arc::new(AtomicU32::new(0));
        let caller = {
            let flights = flights.clone();
            let done = done.clone();
            tokio::spawn(async move {
                flights
                    .run("k".into(), async move {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        done.fetch_add(1, Ordering::SeqCst)
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        caller.abort();
        assert_eq!(flights.in_flight(), 1, "the work is still running");
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(done.load(Ordering::SeqCst), 1);
        assert_eq!(flights.in_flight(), 0, "a landed flight leaves the map");
    }
}
