//! What a client sends to have sections written: one section, or a whole plan. The JSON API,
//! the pages' server functions and the warm-up file all read these types, and they are their
//! own OpenAPI schema; the template registry's field rules refine that schema per template
//! (`api::openapi`). The server reads them once, at the edge, into checked requests.

use std::{collections::BTreeMap, fmt};

use serde::{
    de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor},
    Deserialize, Serialize, Serializer,
};

/// The longest context (the plan's 企业概况 text) a request may carry, in characters.
pub const MAX_CONTEXT_CHARS: usize = 8_000;

/// A request to write one section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GenerateBody {
    #[cfg_attr(feature = "ssr", schema(example = "emergency_plan"))]
    pub template_id: String,
    pub section_id: SectionId,
    #[serde(deserialize_with = "object")]
    pub data: EnterpriseData,
    /// Skip the cache and write a fresh answer (which then replaces the cached one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
    /// The plan's 企业概况 text, given to the prompt so the sections of one plan agree; part of
    /// the cache key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(max_length = 8000))]
    pub context: Option<String>,
}

/// A request to write every section of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanBody {
    #[cfg_attr(feature = "ssr", schema(example = "emergency_plan"))]
    pub template_id: String,
    #[serde(deserialize_with = "object")]
    pub data: EnterpriseData,
    /// Skip the cache and write every section afresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
}

/// The enterprise the plan is for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EnterpriseData {
    /// The template's fields by id (see `GET /api/templates`); other keys are ignored.
    pub enterprise_info: BTreeMap<String, FieldInput>,
}

impl EnterpriseData {
    /// Form values as typed: text as it is, what fields of `integer` kind hold as numbers.
    pub fn from_form<'a>(
        values: impl IntoIterator<Item = (&'a String, &'a String)>,
        is_integer: impl Fn(&str) -> bool,
    ) -> Self {
        let enterprise_info = values
            .into_iter()
            .map(|(id, value)| {
                let value = value.trim();
                let input = match value.parse::<i64>() {
                    Ok(n) if is_integer(id) => FieldInput::Integer(n),
                    _ => FieldInput::Text(value.to_owned()),
                };
                (id.clone(), input)
            })
            .collect();
        Self { enterprise_info }
    }

    /// The values as the form shows them again.
    pub fn to_form(&self) -> BTreeMap<String, String> {
        self.enterprise_info
            .iter()
            .filter_map(|(id, input)| {
                let value = match input {
                    FieldInput::Text(text) => text.clone(),
                    FieldInput::Integer(n) => n.to_string(),
                    FieldInput::Number(n) => n.to_string(),
                    FieldInput::Null | FieldInput::Other => return None,
                };
                Some((id.clone(), value))
            })
            .collect()
    }
}

/// Reads a `T` only from a JSON object. Serde would also build a struct from an array of its
/// fields' values, which the schema (and any client) would not expect to work.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    struct Only<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Only<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("对象")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(Only(std::marker::PhantomData))
}

/// A section id as sent: text (`"2"`), or a whole number (`2`) for numbered sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionId(pub String);

impl Serialize for SectionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SectionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = SectionId;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("字符串或整数")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SectionId, E> {
                Ok(SectionId(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SectionId, E> {
                Ok(SectionId(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SectionId, E> {
                Ok(SectionId(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SectionId, E> {
                // JSON does not tell 2 from 2.0.
                if v.fract() == 0.0 && v.abs() < 9e15 {
                    Ok(SectionId((v as i64).to_string()))
                } else {
                    Err(E::invalid_type(de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(IdVisitor)
    }
}

/// One enterprise field as sent. Whether it fits the field (text, or a whole number in range)
/// is decided against the template, so every field's problem is reported at once.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldInput {
    Text(String),
    Integer(i64),
    /// A number with a fraction, or one outside `i64`.
    Number(f64),
    /// `null`.
    Null,
    /// A boolean, an array or an object: never a field's value.
    Other,
}

impl Serialize for FieldInput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(t) => s.serialize_str(t),
            Self::Integer(n) => s.serialize_i64(*n),
            Self::Number(f) => s.serialize_f64(*f),
            Self::Null | Self::Other => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for FieldInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InputVisitor;
        impl<'de> Visitor<'de> for InputVisitor {
            type Value = FieldInput;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("文本或整数")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldInput, E> {
                Ok(FieldInput::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<FieldInput, E> {
                Ok(FieldInput::Text(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldInput, E> {
                Ok(FieldInput::Integer(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldInput, E> {
                Ok(i64::try_from(v).map_or(FieldInput::Number(v as f64), FieldInput::Integer))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FieldInput, E> {
                Ok(FieldInput::Number(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<FieldInput, E> {
                Ok(FieldInput::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<FieldInput, E> {
                Ok(FieldInput::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<FieldInput, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<FieldInput, E> {
                Ok(FieldInput::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldInput, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FieldInput::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FieldInput, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(FieldInput::Other)
            }
        }
        d.deserialize_any(InputVisitor)
    }
}

/// One rejected field: where it is in the request, and what is wrong, in the user's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldProblem {
    #[cfg_attr(
        feature = "ssr",
        schema(example = "data.enterprise_info.enterprise_name")
    )]
    pub field: String,
    #[cfg_attr(feature = "ssr", schema(example = "请填写企业名称"))]
    pub message: String,
}

#[cfg(feature = "ssr")]
mod schemas {
    //! The two hand-written readers above describe themselves; the registry narrows both per
    //! template in the document.

    use utoipa::{
        openapi::{schema::Schema, RefOr},
        PartialSchema, ToSchema,
    };

    use super::{FieldInput, SectionId};

    fn from_json(value: serde_json::Value) -> RefOr<Schema> {
        RefOr::T(serde_json::from_value(value).expect("a hand-written schema is valid"))
    }

    impl PartialSchema for SectionId {
        fn schema() -> RefOr<Schema> {
            from_json(serde_json::json!({
                "description": "章节 id，字符串或整数（见 GET /api/templates）",
                "oneOf": [{"type": "string"}, {"type": "integer"}],
                "example": "2"
            }))
        }
    }

    impl ToSchema for SectionId {}

    impl PartialSchema for FieldInput {
        fn schema() -> RefOr<Schema> {
            from_json(serde_json::json!({
                "description": "字段值：文本字段为字符串，整数字段为整数或十进制数字串；每个模板的规则见其 EnterpriseInfo 模式",
                "type": ["string", "integer", "null"]
            }))
        }
    }

    impl ToSchema for FieldInput {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_ids_are_text_or_whole_numbers() {
        let id = |json: &str| serde_json::from_str::<SectionId>(json).map(|s| s.0);
        assert_eq!(id("\"2\"").unwrap(), "2");
        assert_eq!(id("2").unwrap(), "2");
        assert_eq!(id("2.0").unwrap(), "2");
        assert!(id("2.5").is_err());
        assert!(id("[]").is_err());
    }

    #[test]
    fn bodies_are_objects_all_the_way_down() {
        let valid =
            r#"{"template_id": "t", "section_id": "1", "data": {"enterprise_info": {"a": "b"}}}"#;
        assert!(serde_json::from_str::<GenerateBody>(valid).is_ok());
        let array_data = r#"{"template_id": "t", "section_id": "1", "data": [{"a": "b"}]}"#;
        assert!(serde_json::from_str::<GenerateBody>(array_data).is_err());
    }

    #[test]
    fn any_json_is_a_field_input() {
        let input = |json: &str| serde_json::from_str::<FieldInput>(json).unwrap();
        assert_eq!(input("\"a\""), FieldInput::Text("a".into()));
        assert_eq!(input("-3"), FieldInput::Integer(-3));
        assert_eq!(input("1.5"), FieldInput::Number(1.5));
        assert_eq!(input("null"), FieldInput::Null);
        assert_eq!(input("[1, {\"a\": 2}]"), FieldInput::Other);
        assert_eq!(input("true"), FieldInput::Other);
    }

    #[test]
    fn form_values_become_inputs() {
        let values: BTreeMap<String, String> = [
            ("employees_count".to_owned(), " 120 ".to_owned()),
            ("address".to_owned(), "1 号".to_owned()),
            ("annual_output".to_owned(), "5000".to_owned()),
        ]
        .into();
        let data = EnterpriseData::from_form(&values, |id| id == "employees_count");
        assert_eq!(
            data.enterprise_info["employees_count"],
            FieldInput::Integer(120)
        );
        assert_eq!(
            data.enterprise_info["annual_output"],
            FieldInput::Text("5000".into())
        );
    }
}
