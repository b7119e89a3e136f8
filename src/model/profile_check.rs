//! The rules a profile is held to where it is entered: on the page as the writer types, and on
//! the server before it is kept. Every problem is reported at once, named by its place
//! (`organization.people[2].mobile`) and told in words a writer acts on (“应急组织第 3 行：…”);
//! what is accepted comes back tidied (blank ends trimmed, phone digits folded to ASCII) with
//! each risk's level worked out.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    profile::{
        Basics, Equipment, ExternalResource, KeyPost, OrgMember, Organization, Profile, RiskScale,
        RiskUnit, SensitiveTarget, Team, WorkGroup, MAX_ROWS,
    },
    FieldProblem,
};

/// Short numbers a plan may print without them belonging to anyone in the profile.
pub const PUBLIC_NUMBERS: [&str; 7] = ["110", "119", "120", "122", "12350", "12345", "12369"];

/// What is wrong with a phone number, to the writer.
const PHONE_RULE: &str =
    "电话格式不正确：应为 11 位手机号（以 1 开头），或带区号的固定电话（如 010-12345678）";

/// A phone number in the form it is kept in (ASCII digits; a landline as `010-12345678`,
/// `0571-1234567-801`): what the API takes, and what `phone` makes of what a writer types.
pub const PHONE_PATTERN: &str =
    "^(?:1[0-9]{10}|0[0-9]{2,3}-[0-9]{7,8}(?:-[0-9]{1,6})?|[48]00[0-9]{7}|110|119|120|122|12350|12345|12369)$";

/// A phone number as kept: ASCII digits, a landline's area code joined by `-`. `Err` with the
/// reason when it is no number a writer can dial.
pub fn phone(raw: &str) -> Result<String, &'static str> {
    let folded: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(fold_digit)
        .map(|c| {
            if matches!(c, '－' | '—' | '–') {
                '-'
            } else {
                c
            }
        })
        .collect();
    let digits: String = folded.chars().filter(|c| c.is_ascii_digit()).collect();
    if folded.chars().any(|c| !c.is_ascii_digit() && c != '-') {
        return Err(PHONE_RULE);
    }
    if PUBLIC_NUMBERS.contains(&digits.as_str()) {
        return Ok(digits);
    }
    if digits.len() == 11 && digits.starts_with('1') && !folded.starts_with('0') {
        return Ok(digits);
    }
    // 400/800 service numbers.
    if digits.len() == 10 && (digits.starts_with("400") || digits.starts_with("800")) {
        return Ok(digits);
    }
    if let Some(rest) = digits.strip_prefix('0') {
        let parts: Vec<&str> = folded.split('-').collect();
        // With a dash, the area code is where the writer put it; without, 3-digit codes are
        // the big cities (010, 02x), the rest have four.
        let (area, number) = match parts.as_slice() {
            [area, number] | [area, number, _] => (area.len(), number.len()),
            [_] => {
                let area = if rest.starts_with('1') || rest.starts_with('2') {
                    3
                } else {
                    4
                };
                (area, digits.len().saturating_sub(area))
            }
            _ => return Err(PHONE_RULE),
        };
        if (3..=4).contains(&area) && (7..=8).contains(&number) {
            let (code, local) = digits.split_at(area);
            let local = &local[..number];
            let ext = &digits[area + number..];
            if ext.len() > 6 {
                return Err(PHONE_RULE);
            }
            return Ok(if ext.is_empty() {
                format!("{code}-{local}")
            } else {
                format!("{code}-{local}-{ext}")
            });
        }
    }
    Err(PHONE_RULE)
}

fn fold_digit(c: char) -> char {
    match c {
        '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
        _ => c,
    }
}

/// `YYYY-MM-DD` as a calendar date: (year, month, day).
pub fn date(text: &str) -> Option<(i32, u32, u32)> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then_some((y, m, d))
}

/// A distance as a writer types it (`800`, `800 m`, `1.5 km`, `1.5公里`, `800米`): metres.
pub fn distance_m(text: &str) -> Option<f64> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.to_lowercase();
    let (number, factor) = if let Some(n) = t.strip_suffix("km").or(t.strip_suffix("公里")) {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix("千米") {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix('m').or(t.strip_suffix('米')) {
        (n, 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    let value: f64 = number.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value * factor)
}

/// A distance as a plan prints it: `800 m`, `1.5 km`.
pub fn show_distance(m: f64) -> String {
    if m >= 1000.0 {
        format!("{} km", trim_number(m / 1000.0))
    } else {
        format!("{} m", trim_number(m))
    }
}

/// A quantity without trailing zeros: `4`, `0.5`, `1.25`.
pub fn trim_number(value: f64) -> String {
    let text = format!("{:.3}", value);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Collects problems under one list's label and path.
struct Problems<'a> {
    list: Vec<FieldProblem>,
    path: &'a str,
    label: &'a str,
}

impl<'a> Problems<'a> {
    fn new(path: &'a str, label: &'a str) -> Self {
        Self {
            list: Vec::new(),
            path,
            label,
        }
    }

    fn add(&mut self, row: Option<usize>, field: &str, message: impl AsRef<str>) {
        let (path, place) = match row {
            Some(i) => (
                format!("{}[{i}].{field}", self.path),
                format!("{}第 {} 行", self.label, i + 1),
            ),
            None => (format!("{}.{field}", self.path), self.label.to_owned()),
        };
        self.list.push(FieldProblem {
            field: path,
            message: format!("{place}：{}", message.as_ref()),
        });
    }
}

/// `text` as kept, without blank ends; longer than `max` characters as sent is a problem.
fn text(
    problems: &mut Problems<'_>,
    row: Option<usize>,
    field: &str,
    label: &str,
    value: &mut String,
    max: usize,
) {
    if value.chars().count() > max {
        problems.add(row, field, format!("{label}不能超过 {max} 个字"));
    }
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        *value = trimmed.to_owned();
    }
}

fn required(
    problems: &mut Problems<'_>,
    row: Option<usize>,
    field: &str,
    label: &str,
    value: &mut String,
    max: usize,
) {
    text(problems, row, field, label, value, max);
    if value.is_empty() && value.chars().count() <= max {
        problems.add(row, field, format!("请填写{label}"));
    }
}

/// A phone number must be in the form it is kept in (`tidy` brings a typed one there).
fn phone_field(
    problems: &mut Problems<'_>,
    row: Option<usize>,
    field: &str,
    value: &str,
    needed: bool,
) {
    if value.is_empty() {
        if needed {
            problems.add(row, field, "请填写电话");
        }
        return;
    }
    match phone(value) {
        Ok(kept) if kept == value => {}
        Ok(kept) => problems.add(
            row,
            field,
            format!("电话请写作“{kept}”（填写的是“{value}”）"),
        ),
        Err(rule) => problems.add(row, field, format!("{rule}（填写的是“{value}”）")),
    }
}

/// A typed phone number in the form it is kept in, when it is one; otherwise as typed, for
/// `check` to name.
fn tidy_phone(value: &mut String) {
    if let Ok(kept) = phone(value.trim()) {
        *value = kept;
    } else {
        *value = value.trim().to_owned();
    }
}

/// What a writer typed (on the page, in a spreadsheet) brought to the forms `check` asks for:
/// phone numbers as kept, categories without blank ends, dates and codes trimmed.
pub fn tidy(mut profile: Profile) -> Profile {
    tidy_phone(&mut profile.basics.duty_phone);
    profile.basics.credit_code = profile.basics.credit_code.trim().to_uppercase();
    for p in &mut profile.organization.people {
        tidy_phone(&mut p.mobile);
    }
    for r in &mut profile.risks {
        r.category = r.category.trim().to_owned();
    }
    for e in &mut profile.resources.equipment {
        tidy_phone(&mut e.phone);
        e.due = e
            .due
            .take()
            .map(|d| d.trim().replace(['/', '.'], "-"))
            .filter(|d| !d.is_empty());
    }
    for t in &mut profile.resources.teams {
        tidy_phone(&mut t.phone);
    }
    for x in &mut profile.resources.external {
        tidy_phone(&mut x.phone);
    }
    for p in &mut profile.posts {
        for r in &mut p.risks {
            *r = r.trim().to_owned();
        }
    }
    profile
}

fn too_many<T>(problems: &mut Problems<'_>, rows: &mut Vec<T>) {
    if rows.len() > MAX_ROWS {
        problems.list.push(FieldProblem {
            field: problems.path.to_owned(),
            message: format!("{}最多 {MAX_ROWS} 行", problems.label),
        });
        rows.truncate(MAX_ROWS);
    }
}

/// Checks and tidies `profile`; every problem at once.
pub fn check(mut profile: Profile, scale: &RiskScale) -> Result<Profile, Vec<FieldProblem>> {
    let mut all = Vec::new();
    all.extend(basics(&mut profile.basics));
    all.extend(organization(&mut profile.organization));
    all.extend(risks(&mut profile.risks, scale));
    all.extend(equipment(&mut profile.resources.equipment));
    all.extend(teams(&mut profile.resources.teams));
    all.extend(external(&mut profile.resources.external));
    all.extend(targets(&mut profile.targets));
    all.extend(posts(&mut profile.posts, scale));
    if all.is_empty() {
        Ok(profile)
    } else {
        Err(all)
    }
}

fn basics(b: &mut Basics) -> Vec<FieldProblem> {
    let mut p = Problems::new("basics", "基本情况");
    required(
        &mut p,
        None,
        "enterprise_name",
        "企业名称",
        &mut b.enterprise_name,
        100,
    );
    b.credit_code = b.credit_code.to_uppercase();
    if !b.credit_code.is_empty()
        && (b.credit_code.len() != 18 || !b.credit_code.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        p.add(
            None,
            "credit_code",
            "统一社会信用代码应为 18 位数字或大写字母",
        );
    }
    text(
        &mut p,
        None,
        "industry_type",
        "行业类型",
        &mut b.industry_type,
        50,
    );
    text(&mut p, None, "address", "地址", &mut b.address, 200);
    if b.longitude.is_some_and(|v| !(-180.0..=180.0).contains(&v)) {
        p.add(None, "longitude", "经度应在 -180 到 180 之间");
    }
    if b.latitude.is_some_and(|v| !(-90.0..=90.0).contains(&v)) {
        p.add(None, "latitude", "纬度应在 -90 到 90 之间");
    }
    text(
        &mut p,
        None,
        "main_products",
        "主要产品",
        &mut b.main_products,
        200,
    );
    if b.employees_count
        .is_some_and(|n| !(1..=1_000_000).contains(&n))
    {
        p.add(
            None,
            "employees_count",
            "从业人员数量应在 1 到 1000000 之间",
        );
    }
    text(
        &mut p,
        None,
        "principal",
        "主要负责人",
        &mut b.principal,
        60,
    );
    phone_field(&mut p, None, "duty_phone", &b.duty_phone, false);
    text(
        &mut p,
        None,
        "raw_materials",
        "主要原材料",
        &mut b.raw_materials,
        500,
    );
    text(
        &mut p,
        None,
        "annual_output",
        "年产量",
        &mut b.annual_output,
        100,
    );
    text(
        &mut p,
        None,
        "processes",
        "生产工艺",
        &mut b.processes,
        1000,
    );
    text(
        &mut p,
        None,
        "hazardous_chemicals",
        "危险化学品",
        &mut b.hazardous_chemicals,
        2000,
    );
    text(
        &mut p,
        None,
        "major_hazard_sources",
        "重大危险源",
        &mut b.major_hazard_sources,
        500,
    );
    text(
        &mut p,
        None,
        "special_equipment",
        "特种设备",
        &mut b.special_equipment,
        500,
    );
    p.list
}

fn organization(o: &mut Organization) -> Vec<FieldProblem> {
    let mut g = Problems::new("organization.groups", "工作组");
    too_many(&mut g, &mut o.groups);
    let mut names = BTreeSet::new();
    for (i, group) in o.groups.iter_mut().enumerate() {
        let WorkGroup { name, duties } = group;
        required(&mut g, Some(i), "name", "工作组名称", name, 50);
        text(&mut g, Some(i), "duties", "职责", duties, 500);
        if !name.is_empty() && !names.insert(name.clone()) {
            g.add(Some(i), "name", format!("工作组“{name}”重复"));
        }
    }
    let mut p = Problems {
        list: g.list,
        path: "organization.people",
        label: "应急组织",
    };
    too_many(&mut p, &mut o.people);
    let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let mut phones: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut commander = None;
    let mut leaders: BTreeMap<String, usize> = BTreeMap::new();
    for (i, person) in o.people.iter_mut().enumerate() {
        let OrgMember {
            role,
            group,
            name,
            post,
            mobile,
            deputy,
        } = person;
        required(&mut p, Some(i), "name", "姓名", name, 50);
        text(&mut p, Some(i), "post", "职务", post, 50);
        text(&mut p, Some(i), "deputy", "替补人", deputy, 50);
        text(&mut p, Some(i), "group", "工作组", group, 50);
        phone_field(&mut p, Some(i), "mobile", mobile, true);
        if role.in_group() {
            if group.is_empty() {
                p.add(
                    Some(i),
                    "group",
                    format!("{}须注明所在工作组", role.label()),
                );
            } else if !names.contains(group.as_str()) {
                p.add(Some(i), "group", format!("工作组“{group}”不在工作组列表中"));
            }
        } else {
            group.clear();
        }
        if name.is_empty() {
            continue;
        }
        let key = (name.clone(), format!("{role:?}"), group.clone());
        if let Some(first) = seen.insert(key, i) {
            p.add(
                Some(i),
                "name",
                format!("“{name}”与第 {} 行重复（同一角色列了两次）", first + 1),
            );
        }
        // Told apart only once the number itself is right.
        if phone(mobile).is_ok_and(|kept| kept == *mobile) {
            match phones.get(name.as_str()) {
                Some((first, other)) if other != mobile => p.add(
                    Some(i),
                    "mobile",
                    format!("“{name}”的电话与第 {} 行的 {other} 不一致", first + 1),
                ),
                Some(_) => {}
                None => {
                    phones.insert(name.clone(), (i, mobile.clone()));
                }
            }
        }
        match role {
            super::profile::OrgRole::Commander => {
                if let Some(first) = commander.replace(i) {
                    p.add(
                        Some(i),
                        "role",
                        format!("总指挥只能有一位（第 {} 行已是总指挥）", first + 1),
                    );
                }
            }
            super::profile::OrgRole::GroupLeader if !group.is_empty() => {
                if let Some(first) = leaders.insert(group.clone(), i) {
                    p.add(
                        Some(i),
                        "role",
                        format!("“{group}”只能有一位组长（第 {} 行已是组长）", first + 1),
                    );
                }
            }
            _ => {}
        }
    }
    p.list
}

fn category(p: &mut Problems<'_>, row: usize, field: &str, value: &str, scale: &RiskScale) {
    if value.is_empty() {
        p.add(Some(row), field, "请填写事故类别");
    } else if !scale.categories.iter().any(|c| c == value) {
        p.add(
            Some(row),
            field,
            format!(
                "“{value}”不是可选的事故类别（可选：{}）",
                scale.categories.join("、")
            ),
        );
    }
}

fn risks(rows: &mut Vec<RiskUnit>, scale: &RiskScale) -> Vec<FieldProblem> {
    let mut p = Problems::new("risks", "风险清单");
    too_many(&mut p, rows);
    let mut seen = BTreeMap::new();
    for (i, risk) in rows.iter_mut().enumerate() {
        required(&mut p, Some(i), "unit", "风险单元", &mut risk.unit, 100);
        category(&mut p, i, "category", &risk.category, scale);
        text(
            &mut p,
            Some(i),
            "consequences",
            "事故后果",
            &mut risk.consequences,
            500,
        );
        text(&mut p, Some(i), "reach", "影响范围", &mut risk.reach, 200);
        let mut graded = true;
        for (field, label, value) in [("l", "可能性 L", risk.l), ("s", "严重性 S", risk.s)] {
            if !(1..=5).contains(&value) {
                p.add(
                    Some(i),
                    field,
                    format!("{label}应为 1 到 5 的整数（填写的是 {value}）"),
                );
                graded = false;
            }
        }
        risk.level = if graded {
            scale.level(risk.l, risk.s)
        } else {
            None
        };
        if !risk.unit.is_empty() && !risk.category.is_empty() {
            let key = (risk.unit.clone(), risk.category.clone());
            if let Some(first) = seen.insert(key, i) {
                p.add(
                    Some(i),
                    "category",
                    format!(
                        "“{}”的“{}”与第 {} 行重复",
                        risk.unit,
                        risk.category,
                        first + 1
                    ),
                );
            }
        }
    }
    p.list
}

fn quantity(p: &mut Problems<'_>, row: usize, field: &str, label: &str, value: f64, max: f64) {
    if !value.is_finite() || value < 0.0 {
        p.add(Some(row), field, format!("{label}不能为负数"));
    } else if value > max {
        p.add(Some(row), field, format!("{label}不能超过 {max}"));
    }
}

fn equipment(rows: &mut Vec<Equipment>) -> Vec<FieldProblem> {
    let mut p = Problems::new("resources.equipment", "应急物资装备");
    too_many(&mut p, rows);
    let mut seen = BTreeMap::new();
    for (i, e) in rows.iter_mut().enumerate() {
        required(&mut p, Some(i), "name", "名称", &mut e.name, 50);
        text(&mut p, Some(i), "spec", "规格型号", &mut e.spec, 100);
        quantity(&mut p, i, "quantity", "数量", e.quantity, 1e9);
        required(&mut p, Some(i), "unit", "单位", &mut e.unit, 10);
        required(
            &mut p,
            Some(i),
            "location",
            "存放位置",
            &mut e.location,
            100,
        );
        text(
            &mut p,
            Some(i),
            "custodian",
            "管理责任人",
            &mut e.custodian,
            50,
        );
        phone_field(&mut p, Some(i), "phone", &e.phone, false);
        if let Some(due) = e.due.as_deref().filter(|d| date(d).is_none()) {
            p.add(
                Some(i),
                "due",
                format!("日期应写作 YYYY-MM-DD，如 2027-06-30（填写的是“{due}”）"),
            );
        }
        if !e.name.is_empty() {
            let key = (e.name.clone(), e.spec.clone(), e.location.clone());
            if let Some(first) = seen.insert(key, i) {
                p.add(
                    Some(i),
                    "name",
                    format!(
                        "“{}”在同一位置与第 {} 行重复，请合并数量",
                        e.name,
                        first + 1
                    ),
                );
            }
        }
    }
    p.list
}

fn teams(rows: &mut Vec<Team>) -> Vec<FieldProblem> {
    let mut p = Problems::new("resources.teams", "应急队伍");
    too_many(&mut p, rows);
    for (i, t) in rows.iter_mut().enumerate() {
        required(&mut p, Some(i), "name", "队伍名称", &mut t.name, 50);
        if !(0..=1_000_000).contains(&t.headcount) {
            p.add(Some(i), "headcount", "人数不能为负数");
        }
        text(
            &mut p,
            Some(i),
            "speciality",
            "专业特长",
            &mut t.speciality,
            100,
        );
        text(&mut p, Some(i), "leader", "负责人", &mut t.leader, 50);
        phone_field(&mut p, Some(i), "phone", &t.phone, false);
    }
    p.list
}

fn external(rows: &mut Vec<ExternalResource>) -> Vec<FieldProblem> {
    let mut p = Problems::new("resources.external", "外部应急资源");
    too_many(&mut p, rows);
    for (i, x) in rows.iter_mut().enumerate() {
        required(&mut p, Some(i), "name", "名称", &mut x.name, 100);
        if let Some(d) = x.distance_m {
            quantity(&mut p, i, "distance_m", "距离", d, 1e6);
        }
        phone_field(&mut p, Some(i), "phone", &x.phone, false);
    }
    p.list
}

fn targets(rows: &mut Vec<SensitiveTarget>) -> Vec<FieldProblem> {
    let mut p = Problems::new("targets", "周边敏感目标");
    too_many(&mut p, rows);
    for (i, t) in rows.iter_mut().enumerate() {
        required(&mut p, Some(i), "name", "名称", &mut t.name, 100);
        text(&mut p, Some(i), "direction", "方位", &mut t.direction, 10);
        if let Some(d) = t.distance_m {
            quantity(&mut p, i, "distance_m", "距离", d, 1e6);
        }
        if t.people.is_some_and(|n| !(0..=10_000_000).contains(&n)) {
            p.add(Some(i), "people", "人数不能为负数");
        }
    }
    p.list
}

fn posts(rows: &mut Vec<KeyPost>, scale: &RiskScale) -> Vec<FieldProblem> {
    let mut p = Problems::new("posts", "重点岗位");
    too_many(&mut p, rows);
    let mut seen = BTreeMap::new();
    for (i, post) in rows.iter_mut().enumerate() {
        required(&mut p, Some(i), "post", "岗位名称", &mut post.post, 100);
        text(&mut p, Some(i), "area", "所在区域", &mut post.area, 100);
        if post.people.is_some_and(|n| !(0..=100_000).contains(&n)) {
            p.add(Some(i), "people", "岗位人数不能为负数");
        }
        if post.risks.len() > 30 {
            p.add(Some(i), "risks", "主要风险最多 30 项");
            post.risks.truncate(30);
        }
        let mut kept: Vec<&String> = Vec::new();
        for risk in &post.risks {
            category(&mut p, i, "risks", risk, scale);
            if kept.contains(&risk) {
                p.add(Some(i), "risks", format!("主要风险“{risk}”重复"));
            }
            kept.push(risk);
        }
        if !post.post.is_empty() {
            if let Some(first) = seen.insert(post.post.clone(), i) {
                p.add(
                    Some(i),
                    "post",
                    format!("岗位“{}”与第 {} 行重复", post.post, first + 1),
                );
            }
        }
    }
    p.list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::profile::{OrgRole, RiskBand, RiskLevel};

    #[test]
    fn the_kept_form_of_a_phone_is_what_the_pattern_says() {
        let pattern = regex_lite(PHONE_PATTERN);
        for typed in [
            "138 0000 1111",
            "01012345678",
            "0571-1234567-801",
            "119",
            "4001234567",
            "010-1234567-1234567",
        ] {
            if let Ok(kept) = phone(typed) {
                assert!(pattern(&kept), "{kept}");
                assert_eq!(phone(&kept).unwrap(), kept, "kept is kept");
            }
        }
        for odd in ["010-1234567-", "1380000111", "12-12345678"] {
            assert!(
                !pattern(odd) && phone(odd).map_or(true, |k| k != odd),
                "{odd}"
            );
        }
    }

    /// The pattern as JSON Schema reads it.
    fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
        let schema = serde_json::json!({"type": "string", "pattern": pattern});
        let validator = jsonschema::validator_for(&schema).unwrap();
        move |s| validator.is_valid(&serde_json::json!(s))
    }

    fn scale() -> RiskScale {
        RiskScale {
            method: "LS".into(),
            bands: vec![
                RiskBand {
                    min: 20,
                    level: RiskLevel::Major,
                },
                RiskBand {
                    min: 15,
                    level: RiskLevel::Significant,
                },
                RiskBand {
                    min: 9,
                    level: RiskLevel::General,
                },
                RiskBand {
                    min: 1,
                    level: RiskLevel::Low,
                },
            ],
            categories: vec!["火灾".into(), "中毒和窒息".into()],
        }
    }

    fn person(role: OrgRole, group: &str, name: &str, mobile: &str) -> OrgMember {
        OrgMember {
            role,
            group: group.into(),
            name: name.into(),
            post: String::new(),
            mobile: mobile.into(),
            deputy: String::new(),
        }
    }

    fn named(name: &str) -> Profile {
        let mut p = Profile::default();
        p.basics.enterprise_name = name.into();
        p
    }

    #[test]
    fn phones_are_read_as_writers_type_them() {
        assert_eq!(phone("138 0000 1111").unwrap(), "13800001111");
        assert_eq!(phone("１３８００００１１１１").unwrap(), "13800001111");
        assert_eq!(phone("010-12345678").unwrap(), "010-12345678");
        assert_eq!(phone("01012345678").unwrap(), "010-12345678");
        assert_eq!(phone("0571 1234567").unwrap(), "0571-1234567");
        assert_eq!(phone("0571-12345678-801").unwrap(), "0571-12345678-801");
        assert_eq!(phone("119").unwrap(), "119");
        assert_eq!(phone("400-123-4567").unwrap(), "4001234567");
        for bad in [
            "1380000111",
            "23800001111",
            "138000011112",
            "abc",
            "010-123",
            "12",
        ] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_distances_and_numbers() {
        assert_eq!(date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(date("2023-02-29"), None);
        assert_eq!(date("2027-6-30"), None);
        assert_eq!(distance_m("1.5 km"), Some(1500.0));
        assert_eq!(distance_m("800米"), Some(800.0));
        assert_eq!(distance_m("2公里"), Some(2000.0));
        assert_eq!(distance_m("-3"), None);
        assert_eq!(show_distance(1500.0), "1.5 km");
        assert_eq!(show_distance(800.0), "800 m");
        assert_eq!(trim_number(4.0), "4");
        assert_eq!(trim_number(0.25), "0.25");
    }

    #[test]
    fn a_good_profile_is_tidied_and_graded() {
        let mut p = named(" 某化工 ");
        p.organization.groups.push(WorkGroup {
            name: "抢险组".into(),
            duties: "抢险".into(),
        });
        p.organization.people = vec![
            person(OrgRole::Commander, "", "张三", "138-0000-1111"),
            person(OrgRole::GroupLeader, "抢险组", "张三", "13800001111"),
            person(OrgRole::GroupMember, "抢险组", "李四", "010-12345678"),
        ];
        p.risks.push(RiskUnit {
            unit: "罐区".into(),
            category: "火灾".into(),
            l: 3,
            s: 5,
            level: Some(RiskLevel::Low),
            consequences: String::new(),
            reach: String::new(),
        });
        assert!(
            check(p.clone(), &scale()).is_err(),
            "a phone typed with dashes is not as kept"
        );
        let p = check(tidy(p), &scale()).unwrap();
        assert_eq!(p.basics.enterprise_name, "某化工");
        assert_eq!(p.organization.people[0].mobile, "13800001111");
        assert_eq!(
            p.risks[0].level,
            Some(RiskLevel::Significant),
            "what was sent is ignored"
        );
        assert_eq!(scale().describe(), "重大风险（红） R ≥ 20；较大风险（橙） 15 ≤ R < 20；一般风险（黄） 9 ≤ R < 15；低风险（蓝） 1 ≤ R < 9");
    }

    #[test]
    fn each_kind_of_mistake_is_named_at_its_row() {
        let mut p = named("某化工");
        p.organization.people = vec![
            person(OrgRole::Commander, "", "张三", "1380000111"),
            person(OrgRole::Member, "", "李四", "13800002222"),
            person(OrgRole::Member, "", "李四", "13800002222"),
            person(OrgRole::GroupMember, "无此组", "王五", "13800003333"),
        ];
        p.risks.push(RiskUnit {
            unit: "罐区".into(),
            category: "地震".into(),
            l: 6,
            s: 0,
            level: None,
            consequences: String::new(),
            reach: String::new(),
        });
        p.resources.equipment.push(Equipment {
            name: "灭火器".into(),
            spec: String::new(),
            quantity: -2.0,
            unit: "具".into(),
            location: "仓库".into(),
            custodian: String::new(),
            phone: String::new(),
            due: Some("2027/06/31".into()),
        });
        let problems = check(p, &scale()).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "organization.people[0].mobile",
                "organization.people[2].name",
                "organization.people[3].group",
                "risks[0].category",
                "risks[0].l",
                "risks[0].s",
                "resources.equipment[0].quantity",
                "resources.equipment[0].due",
            ]
        );
        assert!(
            problems[0]
                .message
                .starts_with("应急组织第 1 行：电话格式不正确"),
            "{}",
            problems[0].message
        );
        assert!(problems[1].message.contains("与第 2 行重复"));
        assert!(problems[4].message.contains("可能性 L应为 1 到 5"));
        assert!(problems[6].message.contains("不能为负数"));
    }

    #[test]
    fn one_person_one_phone_one_commander_one_leader_a_group() {
        let mut p = named("某化工");
        p.organization.groups.push(WorkGroup {
            name: "抢险组".into(),
            duties: String::new(),
        });
        p.organization.people = vec![
            person(OrgRole::Commander, "", "张三", "13800001111"),
            person(OrgRole::Commander, "", "赵六", "13800004444"),
            person(OrgRole::GroupLeader, "抢险组", "张三", "13800009999"),
            person(OrgRole::GroupLeader, "抢险组", "李四", "13800002222"),
        ];
        let problems = check(p, &scale()).unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(problems.len(), 3, "{messages:?}");
        assert!(messages[0].contains("总指挥只能有一位"));
        assert!(messages[1].contains("电话与第 1 行的 13800001111 不一致"));
        assert!(messages[2].contains("只能有一位组长"));
    }
}
