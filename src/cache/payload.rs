//! A stored value as the cache hands it out: its text and, for an entry of the in-process
//! store, a slot where the caller keeps the text decoded. The slot is filled on the entry's
//! first hit and shared by the hits after it, so a hot entry is parsed once, not per hit.
//! The store stays ignorant of what the text means: the caller decides the decoded type.

use std::{
    any::Any,
    fmt,
    sync::{Arc, OnceLock},
};

type Decoded = Option<Arc<dyn Any + Send + Sync>>;

#[derive(Clone)]
pub struct Payload {
    text: Arc<str>,
    decoded: Arc<OnceLock<Decoded>>,
}

impl Payload {
    pub fn new(text: Arc<str>) -> Self {
        Self {
            text,
            decoded: Arc::default(),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text decoded by `decode`: made by the first caller of this entry and shared after.
    /// `None` when the text does not decode (or was kept decoded as another type, which is
    /// then decoded afresh and not kept).
    pub fn decoded<T: Any + Send + Sync>(
        &self,
        decode: impl Fn(&str) -> Option<T>,
    ) -> Option<Arc<T>> {
        let kept = self
            .decoded
            .get_or_init(|| decode(&self.text).map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>));
        match kept.clone()?.downcast::<T>() {
            Ok(value) => Some(value),
            Err(_) => decode(&self.text).map(Arc::new),
        }
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Self {
        Self::new(Arc::from(text))
    }
}

/// Payloads are equal when their texts are.
impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Payload {}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Payload").field(&self.text).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn decoded_once_and_shared_by_clones() {
        let calls = AtomicUsize::new(0);
        let decode = |t: &str| {
            calls.fetch_add(1, Ordering::Relaxed);
            t.parse::<u32>().ok()
        };
        let payload = Payload::from("42");
        let copy = payload.clone();
        assert_eq!(payload.decoded(decode).as_deref(), Some(&42));
        assert_eq!(copy.decoded(decode).as_deref(), Some(&42));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        // Another type is decoded afresh, and the first stays kept.
        assert_eq!(copy.decoded(|t| Some(t.len())).as_deref(), Some(&2));
        assert_eq!(payload.decoded(decode).as_deref(), Some(&42));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn text_that_does_not_decode_is_none() {
        let payload = Payload::from("not a number");
        assert_eq!(payload.decoded(|t| t.parse::<u32>().ok()), None);
        assert_eq!(payload.text(), "not a number");
    }
}
