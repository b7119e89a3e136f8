//! Background work on a timer: now, then every so often, for as long as the service it works
//! for lives. The task holds only a weak reference, so it ends with the service (an app that
//! stops, a test's app dropped); a tick that comes late is not caught up on.

use std::{
    future::Future,
    sync::{Arc, Weak},
    time::Duration,
};

/// Runs `work` on `target` now and then every `every`, until `target` is dropped.
pub fn spawn_every<T, F, Fut>(target: &Arc<T>, every: Duration, mut work: F)
where
    T: Send + Sync + 'static,
    F: FnMut(Arc<T>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let target: Weak<T> = Arc::downgrade(target);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while let Some(target) = {
            tick.tick().await;
            target.upgrade()
        } {
            work(target).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn it_works_now_and_every_interval_and_ends_with_its_target() {
        let target = Arc::new(AtomicU32::new(0));
        spawn_every(&target, Duration::from_secs(10), |t| async move {
            t.fetch_add(1, Ordering::SeqCst);
        });
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(target.load(Ordering::SeqCst), 3, "at 0, 10 and 20 s");
        let weak = Arc::downgrade(&target);
        drop(target);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(weak.upgrade().is_none(), "the task keeps no hold on it");
    }
}
