//! In-process single flight: concurrent callers with the same key share one run of the work and
//! all get its result. The work keeps running for the others if the first caller goes away.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
};

use futures::{
    future::{BoxFuture, Shared},
    FutureExt,
};

pub struct SingleFlight<T: Clone> {
    inflight: Mutex<HashMap<String, Shared<BoxFuture<'static, T>>>>,
}

impl<T: Clone + Send + Sync + 'static> Default for SingleFlight<T> {
    fn default() -> Self {
        Self {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    /// Runs `work` unless a run for `key` is already going, in which case waits for that one.
    pub async fn run<F>(self: &Arc<Self>, key: String, work: F) -> T
    where
        F: Future<Output = T> + Send + 'static,
    {
        let flight = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            match inflight.get(&key) {
                Some(flight) => flight.clone(),
                None => {
                    let this = self.clone();
                    let done_key = key.clone();
                    let flight = async move {
                        let out = work.await;
                        this.inflight
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&done_key);
                        out
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
}
