//! The target menu for the SSH user name `engineer` alone: which targets the engineer may
//! reach now, which one an answer picks, and why there are none (R-7-12).
//!
//! The menu is a convenience, not a second admission: the gateway still runs
//! [`admission::admit`](crate::admission::admit) for the chosen target when the session
//! opens, so a window that closed in between, or an answer that names something else, is
//! refused there. [`choose`] only ever returns an entry of the menu it was given.

use chrono::{DateTime, Utc};

use crate::admission::{self, AdmissionFacts, AdmissionRequest, Decision, DenyReason};
use crate::ids::{Login, PlanId, TargetName};
use crate::plan::Plan;

/// One line of the menu: a target admissible now and the plan it would run under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuEntry {
    /// The target.
    pub target: TargetName,
    /// The plan admission would choose.
    pub plan: PlanId,
    /// When that plan's window ends, shown so the engineer knows how long they have.
    pub ends_at: DateTime<Utc>,
}

/// What the engineer is offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetMenu {
    /// Targets to choose from, sorted by name; never empty.
    Choose(Vec<MenuEntry>),
    /// Nothing is admissible now; why, per target of the engineer's plans (sorted by
    /// name). Empty when the engineer has no plan at all, or only plans for removed
    /// targets.
    Nothing(Vec<(TargetName, DenyReason)>),
}

/// The menu for `engineer` at `now`, from the plans naming them and the names of the
/// registered (not removed) targets. Removed targets are neither offered nor explained:
/// the engineer only ever learns about targets of their own plans that still exist.
pub fn menu(
    engineer: &Login,
    plans: &[Plan],
    registered: &[TargetName],
    now: DateTime<Utc>,
) -> TargetMenu {
    let entries: Vec<MenuEntry> = admission::admissible_targets(engineer, plans, now)
        .into_iter()
        .filter(|(target, _)| registered.contains(target))
        .filter_map(|(target, plan)| {
            let ends_at = plans.iter().find(|p| p.id == plan)?.ends_at;
            Some(MenuEntry {
                target,
                plan,
                ends_at,
            })
        })
        .collect();
    if !entries.is_empty() {
        return TargetMenu::Choose(entries);
    }
    let mut targets: Vec<&TargetName> = plans
        .iter()
        .filter(|p| p.names_engineer(engineer))
        .flat_map(|p| &p.targets)
        .filter(|t| registered.contains(t))
        .collect();
    targets.sort();
    targets.dedup();
    let facts = AdmissionFacts {
        target_exists: true,
        plans: plans.to_vec(),
        // Not known here; admission proper decides (a menu entry admits or says why not).
        personal_data: false,
    };
    let reasons = targets
        .into_iter()
        .filter_map(|target| {
            let request = AdmissionRequest {
                engineer: engineer.clone(),
                target: target.clone(),
            };
            match admission::admit(&request, &facts, now) {
                Decision::Deny(reason) => Some((target.clone(), reason)),
                // Not offered above only if the plans changed under us; say nothing.
                Decision::Admit { .. } => None,
            }
        })
        .collect();
    TargetMenu::Nothing(reasons)
}

/// The entry an answer picks: its number in the menu (from 1) or the target's exact name,
/// surrounding whitespace ignored. Anything else picks nothing — in particular a target
/// name not on the menu, which must not be reachable this way.
pub fn choose<'m>(answer: &str, entries: &'m [MenuEntry]) -> Option<&'m MenuEntry> {
    let answer = answer.trim();
    if !answer.is_empty() && answer.bytes().all(|b| b.is_ascii_digit()) {
        let index = answer.parse::<usize>().ok()?.checked_sub(1)?;
        return entries.get(index);
    }
    entries.iter().find(|e| e.target.as_str() == answer)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::plan::{Allowances, PlanStatus};

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, hour, 0, 0).unwrap()
    }

    fn plan(targets: &[&str], status: PlanStatus, from: u32, to: u32) -> Plan {
        Plan {
            id: PlanId::generate(),
            vendor: "acme".parse().unwrap(),
            engineers: vec!["alice".parse().unwrap()],
            targets: targets.iter().map(|t| t.parse().unwrap()).collect(),
            starts_at: t(from),
            ends_at: t(to),
            purpose: "patching".to_owned(),
            steps: Vec::new(),
            allow: Allowances::default(),
            status,
            submitted_by: "cli:root".to_owned(),
            decided_by: None,
            decision_reason: None,
            submitted_at: t(0),
            decided_at: None,
            personal_data: None,
            data_deletion: None,
            take_out: None,
            kind: crate::plan::PlanKind::Planned,
            attestation: None,
            closed_at: None,
            reported_at: None,
            confirmation: None,
            withdrawal: None,
        }
    }

    fn names(names: &[&str]) -> Vec<TargetName> {
        names.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn alice() -> Login {
        "alice".parse().unwrap()
    }

    #[test]
    fn offers_admissible_registered_targets_with_their_plan_and_end() {
        let open = plan(&["web01", "db01", "gone"], PlanStatus::Approved, 9, 18);
        let later = plan(&["app01"], PlanStatus::Approved, 20, 22);
        let plans = vec![open.clone(), later];
        let registered = names(&["app01", "db01", "web01"]);
        let TargetMenu::Choose(entries) = menu(&alice(), &plans, &registered, t(10)) else {
            panic!("expected a menu");
        };
        let shown: Vec<&str> = entries.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(
            shown,
            ["db01", "web01"],
            "sorted, admissible, registered only"
        );
        for e in &entries {
            assert_eq!((e.plan, e.ends_at), (open.id, t(18)));
        }
    }

    #[test]
    fn nothing_admissible_says_why_per_registered_target() {
        let plans = vec![
            plan(&["db01"], PlanStatus::Approved, 12, 14),
            plan(&["web01"], PlanStatus::Submitted, 9, 18),
            plan(&["gone"], PlanStatus::Approved, 12, 14),
        ];
        let registered = names(&["db01", "web01"]);
        let TargetMenu::Nothing(reasons) = menu(&alice(), &plans, &registered, t(10)) else {
            panic!("expected no menu");
        };
        assert_eq!(
            reasons,
            vec![
                (
                    "db01".parse().unwrap(),
                    DenyReason::WindowNotStarted { starts_at: t(12) }
                ),
                ("web01".parse().unwrap(), DenyReason::NotApprovedYet),
            ]
        );
        // No plan at all, or another engineer's plans only: nothing, and no names.
        assert_eq!(
            menu(&alice(), &[], &registered, t(10)),
            TargetMenu::Nothing(Vec::new())
        );
        assert_eq!(
            menu(&"bob".parse().unwrap(), &plans, &registered, t(10)),
            TargetMenu::Nothing(Vec::new())
        );
    }

    #[test]
    fn answers_pick_by_number_or_exact_name_only() {
        let plans = vec![plan(&["db01", "web01"], PlanStatus::Approved, 9, 18)];
        let registered = names(&["db01", "web01", "secret01"]);
        let TargetMenu::Choose(entries) = menu(&alice(), &plans, &registered, t(10)) else {
            panic!("expected a menu");
        };
        let table: &[(&str, Option<&str>)] = &[
            ("1", Some("db01")),
            (" 2\n", Some("web01")),
            ("02", Some("web01")),
            ("web01", Some("web01")),
            ("  db01 ", Some("db01")),
            ("0", None),
            ("3", None),
            ("-1", None),
            ("+1", None),
            ("1.0", None),
            ("99999999999999999999999", None),
            ("", None),
            ("DB01", None),
            ("db0", None),
            ("secret01", None),
            ("db01 web01", None),
            ("１", None),
        ];
        for (answer, expected) in table {
            let picked = choose(answer, &entries).map(|e| e.target.as_str());
            assert_eq!(picked, *expected, "answer {answer:?}");
        }
    }
}
