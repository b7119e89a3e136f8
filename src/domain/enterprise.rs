//! The enterprise form (`data.enterprise_info`), checked against a template's field list and
//! normalised so that spacing, Unicode form and field order never change what it means.
//!
//! Each field's rule is written once, as `FieldRule`, which both checks a value (`parse`) and
//! describes what it accepts as a JSON schema (`schema`) for the API document; a test holds the
//! two against each other with the validator API clients use.
//!
//! What a field accepts:
//! - text fields: a JSON string, at most `max_len` characters as sent; a number is not text (it
//!   is rejected, not converted); blank (only white space) counts as not given;
//! - integer fields: a JSON integer in `min..=max`, or a string of decimal digits (ASCII or
//!   full-width, no sign, no leading zero, no spaces) in that range when the range is not
//!   negative and has an upper bound;
//! - `null` and a missing key mean not given; keys the template does not use are ignored.

use std::{borrow::Cow, collections::BTreeMap};

use serde::Serialize;
use serde_json::{json, Value};
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

use crate::{
    model::{FieldInput, FieldProblem},
    templates::{FieldKind, FieldSpec, Template},
};

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

/// The enterprise data of one request: only the template's fields, normalised, empty optional
/// fields dropped. Field order is fixed (a `BTreeMap`), which the cache key relies on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnterpriseInfo(BTreeMap<String, FieldValue>);

pub const FIELD_PATH: &str = "data.enterprise_info";

impl EnterpriseInfo {
    /// Checks the sent fields against `template`'s and reports every problem at once, so a
    /// form can mark them all.
    pub fn parse(
        template: &Template,
        sent: &BTreeMap<String, FieldInput>,
    ) -> Result<Self, Vec<FieldProblem>> {
        let mut values = BTreeMap::new();
        let mut problems = Vec::new();
        for spec in &template.fields {
            match FieldRule(spec).parse(sent.get(&spec.id)) {
                Ok(Some(value)) => {
                    values.insert(spec.id.clone(), value);
                }
                Ok(None) => {}
                Err(message) => problems.push(FieldProblem {
                    field: format!("{FIELD_PATH}.{}", spec.id),
                    message,
                }),
            }
        }
        if problems.is_empty() {
            Ok(Self(values))
        } else {
            Err(problems)
        }
    }

    pub fn get(&self, id: &str) -> Option<&FieldValue> {
        self.0.get(id)
    }

    /// The enterprise's name, when the template asks for it.
    pub fn name(&self) -> Option<&str> {
        match self.0.get("enterprise_name") {
            Some(FieldValue::Text(name)) => Some(name),
            _ => None,
        }
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

/// The seed's enterprise (测试企业, 化工制造, 北京市朝阳区, 100 people) for `template`, plus
/// `extra` fields, for tests across the crate.
#[cfg(test)]
pub(crate) fn seed_info(template: &Template, extra: Value) -> EnterpriseInfo {
    let mut fields = json!({
        "enterprise_name": "测试企业", "industry_type": "化工制造", "address": "北京市朝阳区",
        "main_products": "化工产品", "employees_count": 100
    });
    if let (Some(fields), Value::Object(extra)) = (fields.as_object_mut(), extra) {
        fields.extend(extra);
    }
    EnterpriseInfo::parse(
        template,
        &serde_json::from_value(fields).expect("seed fields"),
    )
    .expect("the seed enterprise is valid")
}

/// The JSON schema of `template`'s `enterprise_info` object: exactly what `parse` accepts.
pub fn info_schema(template: &Template) -> Value {
    let properties: serde_json::Map<String, Value> = template
        .fields
        .iter()
        .map(|spec| (spec.id.clone(), FieldRule(spec).schema()))
        .collect();
    let required: Vec<&str> = template
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.id.as_str())
        .collect();
    json!({
        "type": "object",
        "description": format!("“{}”的企业信息；未列出的键会被忽略", template.name),
        "properties": properties,
        "required": required,
    })
}

/// Unicode `White_Space`, which `char::is_whitespace` (and so `trim`) uses, as ranges.
const WHITE_SPACE: &[(char, char)] = &[
    ('\t', '\r'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// The white-space characters as the inside of a regex class, spelled out, so a schema
/// validator in any language reads the same set as `trim`.
pub fn white_space_class() -> String {
    let esc = |c: char| format!("\\u{:04x}", c as u32);
    WHITE_SPACE
        .iter()
        .map(|&(a, b)| {
            if a == b {
                esc(a)
            } else {
                format!("{}-{}", esc(a), esc(b))
            }
        })
        .collect()
}

fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// The check and the schema of one field.
struct FieldRule<'a>(&'a FieldSpec);

impl FieldRule<'_> {
    fn parse(&self, input: Option<&FieldInput>) -> Result<Option<FieldValue>, String> {
        let spec = self.0;
        let label = &spec.label;
        let missing = || {
            if spec.required {
                Err(format!("请填写{label}"))
            } else {
                Ok(None)
            }
        };
        let input = match input {
            None | Some(FieldInput::Null) => return missing(),
            Some(input) => input,
        };
        match spec.kind {
            FieldKind::Text | FieldKind::Textarea => {
                let FieldInput::Text(raw) = input else {
                    return Err(format!("{label}应为文本"));
                };
                if let Some(max) = spec.max_len {
                    let len = raw.chars().count();
                    if len > max {
                        return Err(format!("{label}不能超过 {max} 个字符（当前 {len} 个）"));
                    }
                }
                if is_blank(raw) {
                    return missing();
                }
                Ok(Some(FieldValue::Text(normalise_text(
                    raw,
                    spec.kind == FieldKind::Textarea,
                ))))
            }
            FieldKind::Integer => {
                let n = match input {
                    FieldInput::Integer(n) => Some(*n),
                    FieldInput::Number(f) if f.fract() == 0.0 && f.abs() < 9e15 => Some(*f as i64),
                    FieldInput::Text(s) if is_blank(s) => return missing(),
                    FieldInput::Text(s) if self.digit_range().is_some() => decimal(s),
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

    fn schema(&self) -> Value {
        let spec = self.0;
        let mut schema = match spec.kind {
            FieldKind::Text | FieldKind::Textarea => {
                let mut text = json!({ "type": "string" });
                if let Some(max) = spec.max_len {
                    text["maxLength"] = json!(max);
                }
                if spec.required {
                    // At least one character that is not white space.
                    text["pattern"] = json!(format!("[^{}]", white_space_class()));
                }
                text
            }
            FieldKind::Integer => {
                let mut integer = json!({ "type": "integer" });
                if let Some(min) = spec.min {
                    integer["minimum"] = json!(min);
                }
                if let Some(max) = spec.max {
                    integer["maximum"] = json!(max);
                }
                match self.digit_range() {
                    Some((min, max)) => {
                        let digits = range_pattern(min, max);
                        let pattern = if spec.required {
                            format!("^(?:{digits})$")
                        } else {
                            format!("^(?:[{}]*|{digits})$", white_space_class())
                        };
                        json!({ "oneOf": [integer, { "type": "string", "pattern": pattern }] })
                    }
                    None => integer,
                }
            }
        };
        schema["title"] = json!(spec.label);
        if !spec.required {
            schema = json!({ "anyOf": [schema, { "type": "null" }], "title": spec.label });
        }
        if let Some(placeholder) = &spec.placeholder {
            schema["description"] = json!(placeholder);
        }
        if let Some(example) = &spec.example {
            let value = match (spec.kind, example.parse::<i64>()) {
                (FieldKind::Integer, Ok(n)) => json!(n),
                _ => json!(example),
            };
            schema["examples"] = json!([value]);
        }
        schema
    }

    /// The range a digit string may spell: only for a range that is not negative and has an
    /// upper bound, which a pattern can state.
    fn digit_range(&self) -> Option<(u64, u64)> {
        let min = u64::try_from(self.0.min.unwrap_or(0)).ok()?;
        let max = u64::try_from(self.0.max?).ok()?;
        (min <= max).then_some((min, max))
    }
}

/// The value of a decimal digit, ASCII or full-width.
fn digit(c: char) -> Option<u64> {
    match c {
        '0'..='9' => Some(c as u64 - '0' as u64),
        '\u{ff10}'..='\u{ff19}' => Some(c as u64 - 0xff10),
        _ => None,
    }
}

/// A number written in decimal digits without a leading zero; `None` for anything else or
/// beyond `i64`.
fn decimal(s: &str) -> Option<i64> {
    let mut chars = s.chars();
    let first = digit(chars.next()?)?;
    if first == 0 && !chars.as_str().is_empty() {
        return None;
    }
    chars.try_fold(first as i64, |n, c| {
        n.checked_mul(10)?.checked_add(digit(c)? as i64)
    })
}

/// A regex class of the digits `a..=b`, ASCII and full-width.
fn digit_class(a: u8, b: u8) -> String {
    let full = |d: u8| format!("\\u{:04x}", 0xff10 + d as u32);
    if a == b {
        format!("[{a}{}]", full(a))
    } else {
        format!("[{a}-{b}{}-{}]", full(a), full(b))
    }
}

/// An alternation matching the decimal numbers `min..=max` exactly (no leading zeros).
fn range_pattern(min: u64, max: u64) -> String {
    let mut parts = Vec::new();
    let (lo_len, hi_len) = (min.to_string().len(), max.to_string().len());
    for len in lo_len..=hi_len {
        let floor = if len == 1 {
            0
        } else {
            10u64.pow(len as u32 - 1)
        };
        let ceil = 10u64.pow(len as u32) - 1;
        let (lo, hi) = (min.max(floor), max.min(ceil));
        if lo <= hi {
            same_length(
                lo.to_string().as_bytes(),
                hi.to_string().as_bytes(),
                &mut parts,
            );
        }
    }
    parts.join("|")
}

/// Patterns for the numbers between `lo` and `hi`, both of the same length (ASCII digits).
fn same_length(lo: &[u8], hi: &[u8], out: &mut Vec<String>) {
    let Some((&l, lo_rest)) = lo.split_first() else {
        out.push(String::new());
        return;
    };
    let (&h, hi_rest) = hi.split_first().unwrap_or((&l, &[]));
    let (l, h) = (l - b'0', h - b'0');
    let prefixed = |d: u8, lo: &[u8], hi: &[u8], out: &mut Vec<String>| {
        let mut tails = Vec::new();
        same_length(lo, hi, &mut tails);
        out.extend(
            tails
                .into_iter()
                .map(|t| format!("{}{t}", digit_class(d, d))),
        );
    };
    if l == h {
        prefixed(l, lo_rest, hi_rest, out);
        return;
    }
    let rest = lo_rest.len();
    let zeros = vec![b'0'; rest];
    let nines = vec![b'9'; rest];
    let (mut first, mut last) = (l, h);
    if lo_rest.iter().any(|&d| d != b'0') {
        prefixed(l, lo_rest, &nines, out);
        first += 1;
    }
    let top_partial = hi_rest.iter().any(|&d| d != b'9');
    if top_partial {
        last -= 1;
    }
    if first <= last {
        let tail = if rest == 0 {
            String::new()
        } else {
            format!("{}{{{rest}}}", digit_class(0, 9))
        };
        out.push(format!("{}{tail}", digit_class(first, last)));
    }
    if top_partial {
        prefixed(h, &zeros, hi_rest, out);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::Registry;

    fn plan() -> std::sync::Arc<Template> {
        Registry::load(None)
            .unwrap()
            .template("emergency_plan")
            .unwrap()
            .clone()
    }

    fn fields(value: Value) -> BTreeMap<String, FieldInput> {
        serde_json::from_value(value).unwrap()
    }

    fn seed() -> BTreeMap<String, FieldInput> {
        fields(json!({
            "enterprise_name": "测试企业", "industry_type": "化工制造", "address": "北京市朝阳区",
            "main_products": "化工产品", "employees_count": 100
        }))
    }

    #[test]
    fn seed_example_parses() {
        let info = EnterpriseInfo::parse(&plan(), &seed()).unwrap();
        assert_eq!(info.get("employees_count"), Some(&FieldValue::Integer(100)));
        assert_eq!(info.name(), Some("测试企业"));
    }

    #[test]
    fn spacing_and_number_forms_do_not_matter() {
        let messy = fields(json!({
            "employees_count": "１００", "main_products": "化工产品 ", "address": "  北京市朝阳区",
            "industry_type": "化工制造", "enterprise_name": "测试企业\u{3000}", "credit_code": ""
        }));
        let a = EnterpriseInfo::parse(&plan(), &seed()).unwrap();
        let b = EnterpriseInfo::parse(&plan(), &messy).unwrap();
        assert!(a.canonical().eq(b.canonical()));
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let bad = fields(json!({
            "enterprise_name": " ", "industry_type": "化工", "address": "x".repeat(201),
            "main_products": ["a"], "employees_count": "很多"
        }));
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
        assert_eq!(errors[2].message, "主要产品应为文本");
        assert_eq!(errors[3].message, "从业人员数量应为整数");
    }

    #[test]
    fn numbers_are_not_text() {
        let mut sent = seed();
        sent.insert("main_products".into(), FieldInput::Integer(0));
        let errors = EnterpriseInfo::parse(&plan(), &sent).unwrap_err();
        assert_eq!(errors[0].message, "主要产品应为文本");
    }

    #[test]
    fn integer_bounds_apply() {
        let mut sent = seed();
        sent.insert("employees_count".into(), FieldInput::Integer(0));
        let errors = EnterpriseInfo::parse(&plan(), &sent).unwrap_err();
        assert_eq!(errors[0].message, "从业人员数量不能小于 1");
    }

    #[test]
    fn unknown_fields_are_left_out() {
        let mut sent = seed();
        sent.insert("favourite_colour".into(), FieldInput::Other);
        let info = EnterpriseInfo::parse(&plan(), &sent).unwrap();
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

    #[test]
    fn white_space_list_is_what_trim_uses() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let listed = WHITE_SPACE.iter().any(|&(a, b)| (a..=b).contains(&c));
            assert_eq!(listed, c.is_whitespace(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn decimals_are_plain_digits() {
        assert_eq!(decimal("100"), Some(100));
        assert_eq!(decimal("１００"), Some(100));
        assert_eq!(decimal("0"), Some(0));
        for bad in [
            "",
            "0100",
            "+1",
            "-1",
            " 1",
            "1.0",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    /// The schema of every field of every template says exactly what `parse` accepts, as the
    /// JSON Schema validator an API client (and the fuzzer) uses reads it.
    #[test]
    fn field_schemas_accept_what_the_parser_accepts() {
        let long = "长".repeat(2001);
        let mut samples: Vec<Value> = vec![
            json!(null),
            json!(""),
            json!(" "),
            json!("\u{3000}\t"),
            json!("\u{1c}"),
            json!("a"),
            json!(" 测试 "),
            json!("x\n"),
            json!(long),
            json!(0),
            json!(-1),
            json!(7),
            json!(1.5),
            json!(100.0),
            json!(true),
            json!(["a"]),
            json!({"a": 1}),
            json!("0"),
            json!("01"),
            json!("１２３"),
            json!("1000000"),
            json!("1000001"),
            json!("999999"),
            json!("1e3"),
            json!("+5"),
            json!("5\n"),
            json!(1_000_000),
            json!(1_000_001),
            json!(u64::MAX),
        ];
        for n in [
            1u64, 9, 10, 99, 100, 101, 999, 4567, 10_000, 99_999, 100_000, 654_321,
        ] {
            samples.push(json!(n.to_string()));
        }
        for len in [
            17usize, 18, 19, 29, 30, 31, 49, 50, 51, 59, 60, 61, 99, 100, 101, 199, 200, 201,
        ] {
            samples.push(json!("字".repeat(len)));
            samples.push(json!(" ".repeat(len)));
        }
        let registry = Registry::load(None).unwrap();
        for template in registry.templates() {
            for spec in &template.fields {
                let schema = FieldRule(spec).schema();
                let validator = jsonschema::validator_for(&schema).unwrap();
                for sample in &samples {
                    let input: FieldInput = serde_json::from_value(sample.clone()).unwrap();
                    let accepted = FieldRule(spec).parse(Some(&input)).is_ok();
                    assert_eq!(
                        validator.is_valid(sample),
                        accepted,
                        "{}.{}: {sample} against {schema}",
                        template.id,
                        spec.id
                    );
                }
            }
        }
    }

    #[test]
    fn registry_examples_follow_their_own_rules() {
        let registry = Registry::load(None).unwrap();
        for spec in registry.templates().iter().flat_map(|t| &t.fields) {
            let Some(example) = &spec.example else {
                continue;
            };
            let schema = FieldRule(spec).schema();
            let value = &schema["examples"][0];
            assert!(
                jsonschema::validator_for(&schema).unwrap().is_valid(value),
                "{}: {example}",
                spec.id
            );
        }
    }

    #[test]
    fn range_patterns_match_exactly_the_range() {
        for (min, max) in [
            (1, 1_000_000),
            (0, 9),
            (5, 5),
            (17, 4321),
            (10, 99),
            (0, 100),
        ] {
            let schema =
                json!({"type": "string", "pattern": format!("^(?:{})$", range_pattern(min, max))});
            let validator = jsonschema::validator_for(&schema).unwrap();
            let probes = (0..=120).chain([
                999, 1000, 4320, 4321, 4322, 9999, 99_999, 999_999, 1_000_000, 1_000_001,
            ]);
            for n in probes {
                let inside = (min..=max).contains(&n);
                assert_eq!(
                    validator.is_valid(&json!(n.to_string())),
                    inside,
                    "{n} in {min}..={max}"
                );
                let wide: String = n
                    .to_string()
                    .chars()
                    .map(|c| char::from_u32(c as u32 - '0' as u32 + 0xff10).unwrap())
                    .collect();
                assert_eq!(
                    validator.is_valid(&json!(wide)),
                    inside,
                    "{wide} in {min}..={max}"
                );
            }
        }
    }
}
