//! Keeping every instance's L1 honest: a clear or a delete on one instance is published on a
//! Redis channel, and each instance drops the matching L1 entries.

use std::{sync::Weak, time::Duration};

use futures::StreamExt;

use super::CacheService;

/// Drop every L1 entry under the prefix.
pub const CLEAR: &str = "clear";
/// `del <key>`: drop one key.
pub const DELETE: &str = "del ";

pub fn channel(prefix: &str) -> String {
    format!("{prefix}invalidate")
}

/// Listens on the channel for as long as the service lives, reconnecting after Redis outages
/// (to the next seed node, for a cluster).
pub fn spawn_listener(service: Weak<CacheService>, retry: Duration) {
    tokio::spawn(async move {
        let mut attempt = 0usize;
        loop {
            let Some((clients, channel)) = service
                .upgrade()
                .map(|s| (s.pubsub_clients(), channel(s.prefix())))
            else {
                return;
            };
            if clients.is_empty() {
                return;
            }
            let client = &clients[attempt % clients.len()];
            attempt = attempt.wrapping_add(1);
            if let Ok(Ok(mut pubsub)) =
                tokio::time::timeout(Duration::from_secs(2), client.get_async_pubsub()).await
            {
                if pubsub.subscribe(&channel).await.is_ok() {
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        let Some(service) = service.upgrade() else {
                            return;
                        };
                        if let Ok(text) = message.get_payload::<String>() {
                            service.apply_invalidation(&text);
                        }
                    }
                }
            }
            tokio::time::sleep(retry).await;
        }
    });
}
