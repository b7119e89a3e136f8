//! The mock's sentences from an enterprise's profile: under each sub-heading of a section, what
//! the facts it reads say about it (who commands, who leads which group, what lies where, who
//! to call), so a plan made offline is already the enterprise's own. Deterministic: the same
//! facts give the same text.

use crate::{
    domain::facts::{target_words, SectionFacts},
    model::{
        profile::{Equipment, OrgMember, OrgRole, Organization},
        profile_check::{show_distance, trim_number},
    },
};

/// What a sub-heading is about, read from its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    Basics,
    System,
    Command,
    Groups,
    PostDuties,
    Risks,
    Posts,
    Teams,
    Equipment,
    Contacts,
    Evacuation,
    Response,
    External,
}

/// The topics of a sub-heading, in the order they are written.
fn topics(item: &str) -> Vec<Topic> {
    use Topic::*;
    let has = |words: &[&str]| words.iter().any(|w| item.contains(w));
    let mut found = Vec::new();
    let rules: [(&[&str], Topic); 13] = [
        (&["基本情况"], Basics),
        (&["组织体系"], System),
        (&["指挥部", "指挥机构"], Command),
        (&["工作组"], Groups),
        (&["现场负责人", "岗位人员"], PostDuties),
        (
            &["危险源", "事故类型", "事故后果", "事故征兆", "发生的区域"],
            Risks,
        ),
        (&["岗位", "场所", "发生的区域"], Posts),
        (&["队伍"], Teams),
        (&["物资", "装备", "器材"], Equipment),
        (&["通信", "报警", "联络", "信息接报"], Contacts),
        (&["疏散", "警戒", "人员防护", "敏感目标"], Evacuation),
        (&["处置"], Response),
        (&["支援", "其他保障"], External),
    ];
    for (words, topic) in rules {
        if has(words) && !found.contains(&topic) {
            found.push(topic);
        }
    }
    found
}

/// The sentences the facts give for sub-heading `item`; none when they say nothing about it.
pub fn sentences(item: &str, f: &SectionFacts) -> Vec<String> {
    topics(item)
        .into_iter()
        .flat_map(|topic| write(topic, f))
        .collect()
}

fn write(topic: Topic, f: &SectionFacts) -> Vec<String> {
    let org = f.organization.as_ref();
    match topic {
        Topic::Basics => basics(f),
        Topic::System => org.map(system).unwrap_or_default(),
        Topic::Command => org.map(command).unwrap_or_default(),
        Topic::Groups => org.map(groups).unwrap_or_default(),
        Topic::PostDuties => post_duties(f),
        Topic::Risks => risks(f),
        Topic::Posts => posts(f),
        Topic::Teams => teams(f),
        Topic::Equipment => equipment(f.equipment.as_deref().unwrap_or_default()),
        Topic::Contacts => contacts(f),
        Topic::Evacuation => evacuation(f),
        Topic::Response => response(f),
        Topic::External => external(f),
    }
}

/// `总经理周建国（13905710001）`.
fn who(p: &OrgMember) -> String {
    format!("{}{}（{}）", p.post, p.name, p.mobile)
}

fn in_role(o: &Organization, role: OrgRole) -> impl Iterator<Item = &OrgMember> {
    o.people.iter().filter(move |p| p.role == role)
}

fn leader_of<'a>(o: &'a Organization, group: &str) -> Option<&'a OrgMember> {
    o.people
        .iter()
        .find(|p| p.role == OrgRole::GroupLeader && p.group == group)
}

/// The leader of the first group whose name has one of `words`.
fn leader_for<'a>(o: &'a Organization, words: &[&str]) -> Option<(&'a str, &'a OrgMember)> {
    o.groups
        .iter()
        .filter(|g| words.iter().any(|w| g.name.contains(w)))
        .find_map(|g| leader_of(o, &g.name).map(|p| (g.name.as_str(), p)))
}

fn basics(f: &SectionFacts) -> Vec<String> {
    let Some(b) = &f.basics else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if !b.principal.is_empty() {
        out.push(format!(
            "{}主要负责人为{}。",
            b.enterprise_name, b.principal
        ));
    }
    if !b.duty_phone.is_empty() {
        out.push(format!("应急值守电话为{}，24 小时有人值守。", b.duty_phone));
    }
    if let (Some(lon), Some(lat)) = (b.longitude, b.latitude) {
        out.push(format!("厂址位于{}（东经 {lon}，北纬 {lat}）。", b.address));
    }
    out
}

fn system(o: &Organization) -> Vec<String> {
    let mut out = command(o);
    if !o.groups.is_empty() {
        let names: Vec<&str> = o.groups.iter().map(|g| g.name.as_str()).collect();
        out.push(format!(
            "应急指挥部下设{}，共 {} 个工作组。",
            names.join("、"),
            names.len()
        ));
    }
    out
}

fn command(o: &Organization) -> Vec<String> {
    let mut out = Vec::new();
    for p in in_role(o, OrgRole::Commander) {
        let mut s = format!("应急指挥部总指挥由{}担任", who(p));
        if !p.deputy.is_empty() {
            s.push_str(&format!("，{}不在时由{}代行总指挥职责", p.name, p.deputy));
        }
        out.push(s + "。");
    }
    for p in in_role(o, OrgRole::DeputyCommander) {
        out.push(format!(
            "副总指挥由{}担任，协助总指挥组织应急处置。",
            who(p)
        ));
    }
    let members: Vec<String> = in_role(o, OrgRole::Member).map(who).collect();
    if !members.is_empty() {
        out.push(format!("指挥部成员：{}。", members.join("、")));
    }
    out
}

fn groups(o: &Organization) -> Vec<String> {
    o.groups
        .iter()
        .map(|g| {
            let mut s = g.name.clone();
            match leader_of(o, &g.name) {
                Some(l) => s.push_str(&format!("：组长{}", who(l))),
                None => s.push_str("：组长（待补充：组长姓名及电话）"),
            }
            let members: Vec<String> = o
                .people
                .iter()
                .filter(|p| p.role == OrgRole::GroupMember && p.group == g.name)
                .map(|p| format!("{}（{}）", p.name, p.mobile))
                .collect();
            if !members.is_empty() {
                s.push_str(&format!("，组员{}", members.join("、")));
            }
            if !g.duties.is_empty() {
                s.push_str(&format!("，职责为{}", g.duties.trim_end_matches('。')));
            }
            s + "。"
        })
        .collect()
}

fn post_duties(f: &SectionFacts) -> Vec<String> {
    let (Some(posts), Some(o)) = (&f.posts, &f.organization) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for post in posts {
        if let Some((group, leader)) = leader_for(o, &["抢险", "救援"]) {
            out.push(format!(
                "{}发生事故时，{}组长{}为现场负责人，负责指挥岗位人员先期处置。",
                post.post,
                group,
                who(leader)
            ));
        }
        let people = post.people.map(|n| format!("{n} 名")).unwrap_or_default();
        out.push(format!(
            "{}的{}岗位人员负责发现险情后立即报警，并在{}按本方案实施初期处置。",
            post.post, people, post.area
        ));
    }
    out
}

fn risks(f: &SectionFacts) -> Vec<String> {
    let Some(risks) = &f.risks else {
        return Vec::new();
    };
    let mut out: Vec<String> = risks
        .iter()
        .map(|r| {
            let level = r.level.map(|l| l.label()).unwrap_or("未分级");
            let mut s = format!(
                "{}存在{}风险（L={}，S={}，R={}，{level}）",
                r.unit,
                r.category,
                r.l,
                r.s,
                r.l * r.s
            );
            if !r.consequences.is_empty() {
                s.push_str(&format!("，可能导致{}", r.consequences));
            }
            if !r.reach.is_empty() {
                s.push_str(&format!("，影响范围为{}", r.reach));
            }
            s + "。"
        })
        .collect();
    if let (Some(method), false) = (&f.method, risks.is_empty()) {
        out.push(format!("风险评价方法：{method}。"));
    }
    out
}

fn posts(f: &SectionFacts) -> Vec<String> {
    let Some(posts) = &f.posts else {
        return Vec::new();
    };
    posts
        .iter()
        .map(|p| {
            let people = p
                .people
                .map(|n| format!("，定员 {n} 人"))
                .unwrap_or_default();
            let risks = if p.risks.is_empty() {
                String::new()
            } else {
                format!("，主要风险为{}", p.risks.join("、"))
            };
            format!("{}位于{}{people}{risks}。", p.post, p.area)
        })
        .collect()
}

fn teams(f: &SectionFacts) -> Vec<String> {
    let Some(teams) = &f.teams else {
        return Vec::new();
    };
    teams
        .iter()
        .map(|t| {
            let mut s = format!("{}共 {} 人", t.name, t.headcount);
            if !t.leader.is_empty() {
                s.push_str(&format!("，负责人{}", t.leader));
                if !t.phone.is_empty() {
                    s.push_str(&format!("（{}）", t.phone));
                }
            }
            if !t.speciality.is_empty() {
                s.push_str(&format!("，专业特长为{}", t.speciality));
            }
            s + "。"
        })
        .collect()
}

/// `正压式空气呼吸器（RHZK6.8）8 套（有效期至 2027-06-30）`.
fn item(e: &Equipment) -> String {
    let spec = if e.spec.is_empty() {
        String::new()
    } else {
        format!("（{}）", e.spec)
    };
    let due = e
        .due
        .as_ref()
        .map(|d| format!("（检验或有效期至 {d}）"))
        .unwrap_or_default();
    format!(
        "{}{spec}{} {}{due}",
        e.name,
        trim_number(e.quantity),
        e.unit
    )
}

fn equipment(list: &[Equipment]) -> Vec<String> {
    let mut places: Vec<&str> = Vec::new();
    for e in list {
        if !places.contains(&e.location.as_str()) {
            places.push(&e.location);
        }
    }
    places
        .into_iter()
        .map(|place| {
            let here: Vec<&Equipment> = list.iter().filter(|e| e.location == place).collect();
            let items: Vec<String> = here.iter().map(|e| item(e)).collect();
            let mut s = format!("{place}配备{}", items.join("、"));
            let mut keepers: Vec<String> = Vec::new();
            for e in &here {
                if !e.custodian.is_empty() {
                    let keeper = if e.phone.is_empty() {
                        e.custodian.clone()
                    } else {
                        format!("{}（{}）", e.custodian, e.phone)
                    };
                    if !keepers.contains(&keeper) {
                        keepers.push(keeper);
                    }
                }
            }
            if !keepers.is_empty() {
                s.push_str(&format!("，由{}负责管理和维护", keepers.join("、")));
            }
            s + "。"
        })
        .collect()
}

fn contacts(f: &SectionFacts) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(b) = f.basics.as_ref().filter(|b| !b.duty_phone.is_empty()) {
        out.push(format!(
            "应急值守电话{}实行 24 小时值守，接警人员接报后立即报告总指挥。",
            b.duty_phone
        ));
    }
    if let Some(o) = &f.organization {
        let heads: Vec<String> = in_role(o, OrgRole::Commander)
            .chain(in_role(o, OrgRole::DeputyCommander))
            .map(who)
            .collect();
        if !heads.is_empty() {
            out.push(format!(
                "{}的手机保持 24 小时畅通，作为应急指挥的主要联络方式。",
                heads.join("、")
            ));
        }
        let leaders: Vec<String> = in_role(o, OrgRole::GroupLeader)
            .map(|p| format!("{}组长{}（{}）", p.group, p.name, p.mobile))
            .collect();
        if !leaders.is_empty() {
            out.push(format!("各工作组联络人：{}。", leaders.join("、")));
        }
    }
    if let Some(external) = f.external.as_ref().filter(|x| !x.is_empty()) {
        let calls: Vec<String> = external
            .iter()
            .filter(|x| !x.phone.is_empty())
            .map(|x| format!("{} {}", x.name, x.phone))
            .collect();
        if !calls.is_empty() {
            out.push(format!("外部求援电话：{}。", calls.join("、")));
        }
    }
    out
}

fn evacuation(f: &SectionFacts) -> Vec<String> {
    let mut out = Vec::new();
    let guard = f
        .organization
        .as_ref()
        .and_then(|o| leader_for(o, &["警戒", "疏散"]));
    if let Some((group, leader)) = guard {
        out.push(format!(
            "{}组长{}负责设置警戒区、引导人员撤离至上风向安全地带并清点人数。",
            group,
            who(leader)
        ));
    }
    if let Some(targets) = &f.targets {
        for t in targets {
            out.push(format!(
                "{}，事故可能波及时及时通知其撤离或采取防护措施。",
                target_words(t)
            ));
        }
    }
    out
}

fn response(f: &SectionFacts) -> Vec<String> {
    let mut out = Vec::new();
    let org = f.organization.as_ref();
    let rescue = org.and_then(|o| leader_for(o, &["抢险", "救援"]));
    let medic = org.and_then(|o| leader_for(o, &["医疗", "救护"]));
    let list = f.equipment.as_deref().unwrap_or_default();
    for r in f.risks.as_deref().unwrap_or_default() {
        let mut s = format!("{}发生{}事故时", r.unit, r.category);
        match rescue {
            Some((group, leader)) => {
                s.push_str(&format!("，{}组长{}立即组织抢险", group, who(leader)))
            }
            None => s.push_str("，现场人员立即报警并组织初期处置"),
        }
        let at: Vec<String> = list
            .iter()
            .filter(|e| e.location.contains(r.unit.as_str()))
            .map(item)
            .collect();
        if !at.is_empty() {
            s.push_str(&format!("，使用{}", at.join("、")));
        }
        out.push(s + "。");
    }
    if let Some((group, leader)) = medic {
        out.push(format!(
            "{}组长{}负责伤员现场救护，必要时联系医院转运。",
            group,
            who(leader)
        ));
    }
    out.extend(evacuation(f));
    out
}

fn external(f: &SectionFacts) -> Vec<String> {
    let Some(external) = &f.external else {
        return Vec::new();
    };
    external
        .iter()
        .map(|x| {
            let mut s = format!("{}（{}", x.name, x.kind.label());
            if let Some(d) = x.distance_m {
                s.push_str(&format!("，距离约 {}", show_distance(d)));
            }
            if !x.phone.is_empty() {
                s.push_str(&format!("，电话 {}", x.phone));
            }
            s.push('）');
            if x.agreement {
                s.push_str("已与本单位签订互助协议，");
            }
            s + "可在需要时请求支援。"
        })
        .collect()
}
