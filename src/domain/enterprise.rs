//! The enterprise form (`data.enterprise_info`), checked against a template's field list and
//! normalised so that spacing, Unicode form and field order never change what it means.

use std::{borrow::Cow, collections::BTreeMap};

use serde::Serialize;
use serde_json::Value;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::templates::{FieldKind, FieldSpec, Template};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Text(String),
    Integer(i64),
}

impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Integer(n) => write!(f, "{n}"),
        }
    }
}

/// One rejected field: where it is in the request, and what is wrong in the user's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The enterprise data of one request: only the template's fields, normalised, empty optional
/// fields dropped. Field order is fixed (a `BTreeMap`), which the cache key relies on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnterpriseInfo(BTreeMap<String, FieldValue>);

pub const FIELD_PATH: &str = "data.enterprise_info";

impl EnterpriseInfo {
    /// Checks `data` (the request's `data` object) against `template`'s fields and reports
    /// every problem at once, so a form can mark them all.
    pub fn parse(template: &Template, data: &Value) -> Result<Self, Vec<FieldError>> {
        let Some(info) = data.get("enterprise_info").and_then(Value::as_object) else {
            return Err(vec![FieldError {
                field: FIELD_PATH.to_owned(),
                message: "缺少企业信息（data.enterprise_info 应为对象）".to_owned(),
            }]);
        };
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for spec in &template.fields {
            match parse_field(spec, info.get(&spec.id)) {
                Ok(Some(value)) => {
                    values.insert(spec.id.clone(), value);
                }
                Ok(None) => {}
                Err(message) => errors.push(FieldError {
                    field: format!("{FIELD_PATH}.{}", spec.id),
                    message,
                }),
            }
        }
        if errors.is_empty() {
            Ok(Self(values))
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, id: &str) -> Option<&FieldValue> {
        self.0.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The form that decides whether two requests mean the same: fields in sorted order, text
    /// compatibility-normalised (full-width digits and letters fold to ASCII), integers in
    /// decimal. Nearly all input is NFKC already; the quick check spares the rebuild.
    pub fn canonical(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        self.0.iter().map(|(id, value)| {
            let value = match value {
                FieldValue::Text(s) if is_nfkc_quick(s.chars()) == IsNormalized::Yes => {
                    Cow::Borrowed(s.as_str())
                }
                FieldValue::Text(s) => Cow::Owned(s.nfkc().collect()),
                FieldValue::Integer(n) => Cow::Owned(n.to_string()),
            };
            (id.as_str(), value)
        })
    }
}

/// Trims, collapses runs of spaces (also full-width ones) and composes Unicode (NFC).
/// Multi-line fields keep their line breaks but lose blank lines.
fn normalise_text(raw: &str, multiline: bool) -> String {
    // Nearly all input is NFC already; the quick check spares the rebuild.
    let composed: String = match unicode_normalization::is_nfc_quick(raw.chars()) {
        unicode_normalization::IsNormalized::Yes => raw.to_owned(),
        _ => raw.nfc().collect(),
    };
    let collapse = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    if multiline {
        composed
            .lines()
            .map(collapse)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        collapse(&composed)
    }
}

fn parse_field(spec: &FieldSpec, value: Option<&Value>) -> Result<Option<FieldValue>, String> {
    let label = &spec.label;
    let value = match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(v) => Some(v),
    };
    let Some(value) = value else {
        return if spec.required {
            Err(format!("请填写{label}"))
        } else {
            Ok(None)
        };
    };
    match spec.kind {
        FieldKind::Text | FieldKind::Textarea => {
            let text = match value {
                Value::String(s) => normalise_text(s, spec.kind == FieldKind::Textarea),
                Value::Number(n) => n.to_string(),
                _ => return Err(format!("{label}应为文本")),
            };
            if let Some(max) = spec.max_len {
                let len = text.chars().count();
                if len > max {
                    return Err(format!("{label}不能超过 {max} 个字符（当前 {len} 个）"));
                }
            }
            Ok(Some(FieldValue::Text(text)))
        }
        FieldKind::Integer => {
            let n = match value {
                Value::Number(n) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                        .map(|f| f as i64)
                }),
                Value::String(s) => s.nfkc().collect::<String>().trim().parse::<i64>().ok(),
                _ => None,
            };
            let Some(n) = n else {
                return Err(format!("{label}应为整数"));
            };
            if let Some(min) = spec.min.filter(|min| n < *min) {
                return Err(format!("{label}不能小于 {min}"));
            }
            if let Some(max) = spec.max.filter(|max| n > *max) {
                return Err(format!("{label}不能大于 {max}"));
            }
            Ok(Some(FieldValue::Integer(n)))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::templates::Registry;

    fn plan() -> Template {
        Registry::load(None)
            .unwrap()
            .template("emergency_plan")
            .unwrap()
            .clone()
    }

    fn seed() -> Value {
        json!({"enterprise_info": {
            "enterprise_name": "测试企业", "industry_type": "化工制造", "address": "北京市朝阳区",
            "main_products": "化工产品", "employees_count": 100
        }})
    }

    #[test]
    fn seed_example_parses() {
        let info = EnterpriseInfo::parse(&plan(), &seed()).unwrap();
        assert_eq!(info.get("employees_count"), Some(&FieldValue::Integer(100)));
        assert_eq!(
            info.get("enterprise_name"),
            Some(&FieldValue::Text("测试企业".into()))
        );
    }

    #[test]
    fn spacing_and_number_forms_do_not_matter() {
        let messy = json!({"enterprise_info": {
            "employees_count": "１００", "main_products": "化工产品 ", "address": "  北京市朝阳区",
            "industry_type": "化工制造", "enterprise_name": "测试企业\u{3000}", "credit_code": ""
        }});
        let a = EnterpriseInfo::parse(&plan(), &seed()).unwrap();
        let b = EnterpriseInfo::parse(&plan(), &messy).unwrap();
        assert!(a.canonical().eq(b.canonical()));
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let bad = json!({"enterprise_info": {
            "enterprise_name": " ", "industry_type": "化工", "address": "x".repeat(201),
            "main_products": ["a"], "employees_count": "很多"
        }});
        let errors = EnterpriseInfo::parse(&plan(), &bad).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "data.enterprise_info.enterprise_name",
                "data.enterprise_info.address",
                "data.enterprise_info.main_products",
                "data.enterprise_info.employees_count"
            ]
        );
        assert_eq!(errors[0].message, "请填写企业名称");
        assert!(errors[1].message.contains("不能超过 200 个字符"));
        assert_eq!(errors[3].message, "从业人员数量应为整数");
    }

    #[test]
    fn integer_bounds_apply() {
        let mut data = seed();
        data["enterprise_info"]["employees_count"] = json!(0);
        let errors = EnterpriseInfo::parse(&plan(), &data).unwrap_err();
        assert_eq!(errors[0].message, "从业人员数量不能小于 1");
    }

    #[test]
    fn missing_object_is_one_clear_error() {
        let errors = EnterpriseInfo::parse(&plan(), &json!({})).unwrap_err();
        assert_eq!(errors[0].field, "data.enterprise_info");
    }

    #[test]
    fn unknown_fields_are_left_out() {
        let mut data = seed();
        data["enterprise_info"]["favourite_colour"] = json!("blue");
        let info = EnterpriseInfo::parse(&plan(), &data).unwrap();
        assert!(info.get("favourite_colour").is_none());
    }

    #[test]
    fn multiline_fields_keep_lines_but_not_blank_ones() {
        assert_eq!(
            normalise_text(" 液氯  储罐\n\n  硫酸 \n", true),
            "液氯 储罐\n硫酸"
        );
        assert_eq!(
            normalise_text(" 液氯  储罐\n硫酸 ", false),
            "液氯 储罐 硫酸"
        );
    }
}
