//! A section's text held against the enterprise's profile, deterministically: phone numbers
//! that belong to nobody, people named in a role the profile gives someone else, resources the
//! inventory lacks or lists with another quantity, equipment past its date, and risks rated
//! 一般 or higher that none of the enterprise's plans covers. Each finding names its paragraph
//! (the text's line).

use std::collections::BTreeSet;

use crate::model::{
    finding::{FactFinding, FindingKind},
    profile::{OrgRole, Profile, RiskLevel},
    profile_check::{phone, trim_number, PUBLIC_NUMBERS},
};

/// What the checks read of a profile, gathered once per plan.
pub struct FactBook<'a> {
    profile: &'a Profile,
    phones: BTreeSet<String>,
    resource_words: &'a [String],
    /// `YYYY-MM-DD`, China time.
    today: String,
}

/// How far after a role's name the person it names is looked for, in characters.
const ROLE_REACH: usize = 16;

impl<'a> FactBook<'a> {
    pub fn new(profile: &'a Profile, resource_words: &'a [String], today: String) -> Self {
        let mut phones = BTreeSet::new();
        let mut add = |p: &str| {
            if let Ok(kept) = phone(p) {
                phones.insert(kept);
            }
        };
        add(&profile.basics.duty_phone);
        for p in &profile.organization.people {
            add(&p.mobile);
        }
        for e in &profile.resources.equipment {
            add(&e.phone);
        }
        for t in &profile.resources.teams {
            add(&t.phone);
        }
        for x in &profile.resources.external {
            add(&x.phone);
        }
        // A principal written with their number (主要负责人及电话).
        for word in profile.basics.principal.split_whitespace() {
            add(word);
        }
        Self {
            profile,
            phones,
            resource_words,
            today,
        }
    }

    /// Everything found in `text`, by paragraph.
    pub fn check(&self, text: &str) -> Vec<FactFinding> {
        let mut found = Vec::new();
        for (paragraph, line) in text.lines().enumerate() {
            let mut add = |kind: FindingKind, excerpt: String, message: String| {
                found.push(FactFinding {
                    kind,
                    paragraph,
                    excerpt,
                    message,
                })
            };
            self.phones_in(line, &mut add);
            self.roles_in(line, &mut add);
            self.resources_in(line, &mut add);
        }
        found
    }

    fn phones_in(&self, line: &str, add: &mut impl FnMut(FindingKind, String, String)) {
        for number in numbers(line) {
            let Ok(kept) = phone(&number) else { continue };
            if PUBLIC_NUMBERS.contains(&kept.as_str()) || self.phones.contains(&kept) {
                continue;
            }
            add(
                FindingKind::UnknownPhone,
                number.clone(),
                format!("电话 {number} 不属于企业档案中的任何人员或单位"),
            );
        }
    }

    fn roles_in(&self, line: &str, add: &mut impl FnMut(FindingKind, String, String)) {
        let org = &self.profile.organization;
        let chars: Vec<char> = line.chars().collect();
        let text =
            |from: usize, to: usize| chars[from..to.min(chars.len())].iter().collect::<String>();
        for (at, role, group) in role_mentions(
            line,
            &org.groups
                .iter()
                .map(|g| g.name.as_str())
                .collect::<Vec<_>>(),
        ) {
            let holders: Vec<_> = org
                .people
                .iter()
                .filter(|p| p.role == role && (group.is_none() || Some(p.group.as_str()) == group))
                .collect();
            if holders.is_empty() {
                continue;
            }
            // The first person named after the role, before the next role or the clause's end.
            let window = text(at, at + ROLE_REACH);
            let window = window
                .split(['，', '。', '；', '、'])
                .next()
                .unwrap_or_default();
            let named = org
                .people
                .iter()
                .filter_map(|p| window.find(p.name.as_str()).map(|i| (i, p)))
                .min_by_key(|(i, _)| *i)
                .map(|(_, p)| p);
            let Some(named) = named else { continue };
            if !holders.iter().any(|h| h.name == named.name) {
                let role_name = match group {
                    Some(g) => format!("{g}组长"),
                    None => role.label().to_owned(),
                };
                let names: Vec<&str> = holders.iter().map(|h| h.name.as_str()).collect();
                add(
                    FindingKind::WrongPerson,
                    named.name.clone(),
                    format!(
                        "档案中{role_name}为{}，不是{}",
                        names.join("、"),
                        named.name
                    ),
                );
            }
        }
    }

    fn resources_in(&self, line: &str, add: &mut impl FnMut(FindingKind, String, String)) {
        let equipment = &self.profile.resources.equipment;
        let mut covered: Vec<(usize, usize)> = Vec::new();
        let mut names: Vec<&str> = equipment.iter().map(|e| e.name.as_str()).collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        names.dedup();
        for name in names {
            let rows: Vec<_> = equipment.iter().filter(|e| e.name == name).collect();
            for (at, _) in line.match_indices(name) {
                if covered.iter().any(|(a, b)| at >= *a && at < *b) {
                    continue;
                }
                covered.push((at, at + name.len()));
                let after = &line[at + name.len()..];
                if let Some((amount, unit)) = quantity_after(after) {
                    let total: f64 = rows
                        .iter()
                        .filter(|e| e.unit == unit)
                        .map(|e| e.quantity)
                        .sum();
                    let listed = rows
                        .iter()
                        .filter(|e| e.unit == unit)
                        .any(|e| (e.quantity - amount).abs() < 1e-9)
                        || (total - amount).abs() < 1e-9;
                    if rows.iter().any(|e| e.unit == unit) && !listed {
                        let kept: Vec<String> = rows
                            .iter()
                            .map(|e| {
                                format!("{}{} {}", e.location, trim_number(e.quantity), e.unit)
                            })
                            .collect();
                        add(
                            FindingKind::WrongQuantity,
                            format!("{name}{} {unit}", trim_number(amount)),
                            format!(
                                "{name}的数量与档案不符：正文为 {} {unit}，档案为{}",
                                trim_number(amount),
                                kept.join("、")
                            ),
                        );
                    }
                }
                for e in &rows {
                    if let Some(due) = e.due.as_deref().filter(|d| *d < self.today.as_str()) {
                        add(
                            FindingKind::Expired,
                            name.to_owned(),
                            format!("{}（{}）的检验或有效期已于 {due} 到期", name, e.location),
                        );
                    }
                }
            }
        }
        for word in self.resource_words {
            for (at, _) in line.match_indices(word.as_str()) {
                if covered.iter().any(|(a, b)| at >= *a && at < *b) {
                    continue;
                }
                if equipment.iter().any(|e| e.name.contains(word.as_str())) {
                    continue;
                }
                add(
                    FindingKind::MissingResource,
                    word.clone(),
                    format!("正文提到的“{word}”不在企业档案的应急物资装备中"),
                );
                break;
            }
        }
    }

    /// Risks rated 一般 or higher whose category none of `covered` names, with the highest
    /// level each reaches.
    pub fn uncovered(&self, covered: &BTreeSet<String>) -> Vec<(String, RiskLevel)> {
        let mut out: Vec<(String, RiskLevel)> = Vec::new();
        for r in &self.profile.risks {
            let Some(level) = r.level.filter(|l| *l <= RiskLevel::General) else {
                continue;
            };
            if covered.contains(&r.category) {
                continue;
            }
            match out.iter_mut().find(|(c, _)| *c == r.category) {
                Some((_, l)) => *l = (*l).min(level),
                None => out.push((r.category.clone(), level)),
            }
        }
        out
    }
}

/// Runs of digits (with `-` between them) in `line`: the phone numbers it may hold.
fn numbers(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut flush = |current: &mut String| {
        let run = current.trim_end_matches('-').to_owned();
        if run.chars().any(|c| c.is_ascii_digit()) {
            out.push(run);
        }
        current.clear();
    };
    for c in line.chars() {
        let c = match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        };
        if c.is_ascii_digit() || (c == '-' && !current.is_empty()) {
            current.push(c);
        } else {
            flush(&mut current);
        }
    }
    flush(&mut current);
    out
}

/// Where `line` names a role (by character position, just after the role's name): 总指挥,
/// 副总指挥, or a group's 组长 (the group named last before it on the line).
fn role_mentions<'a>(line: &str, groups: &[&'a str]) -> Vec<(usize, OrgRole, Option<&'a str>)> {
    let chars: Vec<char> = line.chars().collect();
    let at = |i: usize, word: &str| {
        let w: Vec<char> = word.chars().collect();
        chars.len() >= i + w.len() && chars[i..i + w.len()] == w[..]
    };
    let mut out = Vec::new();
    let mut last_group: Option<&str> = None;
    let mut i = 0;
    while i < chars.len() {
        if let Some(g) = groups.iter().find(|g| at(i, g)) {
            last_group = Some(g);
            i += g.chars().count();
            continue;
        }
        if at(i, "副总指挥") {
            out.push((i + 4, OrgRole::DeputyCommander, None));
            i += 4;
        } else if at(i, "总指挥") {
            out.push((i + 3, OrgRole::Commander, None));
            i += 3;
        } else if at(i, "组长") {
            if let Some(g) = last_group {
                out.push((i + 2, OrgRole::GroupLeader, Some(g)));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

/// A number and a unit just after a resource's name (its specification in brackets may come
/// between): `（RHZK6.8）8 套` → (8, "套").
fn quantity_after(after: &str) -> Option<(f64, String)> {
    let mut rest = after.trim_start();
    if let Some(inner) = rest.strip_prefix('（') {
        rest = inner.split_once('）')?.1.trim_start();
    }
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if number.is_empty() {
        return None;
    }
    let amount: f64 = number.parse().ok()?;
    let unit: String = rest[number.len()..]
        .trim_start()
        .chars()
        .take_while(|c| !c.is_whitespace() && !"，。；、（）()".contains(*c))
        .take(3)
        .collect();
    (!unit.is_empty()).then_some((amount, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_quantities_are_read_out_of_text() {
        assert_eq!(
            numbers("值守电话0571-86901119，手机１３９０５７１０００１。"),
            ["0571-86901119", "13905710001"]
        );
        assert_eq!(
            quantity_after("（RHZK6.8）8 套，由"),
            Some((8.0, "套".into()))
        );
        assert_eq!(quantity_after("20 t（检验）"), Some((20.0, "t".into())));
        assert_eq!(quantity_after("，由王立新"), None);
    }

    #[test]
    fn roles_are_found_with_their_groups() {
        let found = role_mentions(
            "总指挥由周建国担任，副总指挥吴志强；抢险救援组：组长王立新",
            &["抢险救援组"],
        );
        let roles: Vec<(OrgRole, Option<&str>)> = found.iter().map(|(_, r, g)| (*r, *g)).collect();
        assert_eq!(
            roles,
            [
                (OrgRole::Commander, None),
                (OrgRole::DeputyCommander, None),
                (OrgRole::GroupLeader, Some("抢险救援组"))
            ]
        );
    }
}
