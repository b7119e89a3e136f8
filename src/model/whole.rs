//! Whole numbers as JSON Schema counts them: `3` and `3.0` alike. serde reads `3.0` into an
//! integer type as an error, while the document's `type: integer` allows it, so the fields a
//! client sends back (a saved plan's counters, a revision) are read with these.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

struct Whole<const MAX: u64>;

impl<const MAX: u64> Visitor<'_> for Whole<MAX> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an integer from 0 to {MAX}")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        if v <= MAX {
            Ok(v)
        } else {
            Err(E::custom(format!("不能大于 {MAX}")))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v)
            .map_err(|_| E::custom("不能为负数"))
            .and_then(|v| self.visit_u64(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        if v.fract() == 0.0 && (0.0..=MAX as f64).contains(&v) {
            Ok(v as u64)
        } else {
            Err(E::invalid_type(de::Unexpected::Float(v), &self))
        }
    }
}

const I64_MAX: u64 = i64::MAX as u64;

pub fn u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(Whole::<I64_MAX>)
}

/// A `u32` the document calls `int32`: up to `i32::MAX`.
pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    d.deserialize_any(Whole::<{ i32::MAX as u64 }>)
        .map(|v| v as u32)
}

pub fn option_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct Maybe;
    impl<'de> Visitor<'de> for Maybe {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            u64(d).map(Some)
        }
    }
    d.deserialize_option(Maybe)
}

pub fn option_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    option_u64(d).map(|v| v.map(|v| v as i64))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::u64")]
        n: u64,
        #[serde(default, deserialize_with = "super::option_i64")]
        m: Option<i64>,
    }

    #[test]
    fn whole_floats_are_integers() {
        let t: T = serde_json::from_str(r#"{"n": 518.0, "m": 3}"#).unwrap();
        assert_eq!((t.n, t.m), (518, Some(3)));
        let t: T = serde_json::from_str(r#"{"n": 1, "m": null}"#).unwrap();
        assert_eq!(t.m, None);
        for bad in [
            r#"{"n": 1.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": 9223372036854775808}"#,
        ] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
}
