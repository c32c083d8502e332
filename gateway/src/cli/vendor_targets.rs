//! `fumidai vendor targets add|remove|list VENDOR [TARGET…]`: the targets a vendor is
//! contracted for. Its engineers may declare an emergency only on these (R-11-1); plans are
//! not limited by the list. Every change is audited (`vendor.target_added`/`_removed`).

use policy::authority::Action;
use policy::ids::{Login, TargetName, VendorName};

use fumidai_core::ops::target_admin;

use super::context::Context;
use super::output::Output;
use super::person;

/// `fumidai vendor targets …`
#[derive(Debug, clap::Subcommand)]
pub enum VendorTargetsCommand {
    /// Add targets to the vendor's contracted targets.
    Add {
        /// The vendor.
        vendor: VendorName,
        /// Registered targets (one or more).
        #[arg(required = true, num_args = 1..)]
        targets: Vec<TargetName>,
        /// The operator doing it, authenticated now (it decides where emergencies may open).
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// Take targets off the vendor's contracted targets.
    Remove {
        /// The vendor.
        vendor: VendorName,
        /// Targets on its list (one or more).
        #[arg(required = true, num_args = 1..)]
        targets: Vec<TargetName>,
        /// The operator doing it, authenticated now.
        #[arg(long = "as", value_name = "LOGIN")]
        by: Login,
    },
    /// List the vendor's contracted targets.
    List {
        /// The vendor.
        vendor: VendorName,
    },
}

/// Runs `fumidai vendor targets …`.
pub(crate) async fn run(
    ctx: &Context,
    cmd: VendorTargetsCommand,
    out: Output,
) -> anyhow::Result<()> {
    match cmd {
        VendorTargetsCommand::Add {
            vendor,
            targets,
            by,
        } => {
            let person = person::authenticate(ctx, &by, Action::ManageAccounts).await?;
            let added =
                target_admin::contract(ctx.store.as_ref(), &person, &vendor, &targets).await?;
            out.print(&added, |a| {
                format!(
                    "vendor {vendor}: contracted for {} (emergency access possible there)\n\
                     {vendor} の契約対象に追加しました: {}\n",
                    list(a),
                    list(a)
                )
            })
        }
        VendorTargetsCommand::Remove {
            vendor,
            targets,
            by,
        } => {
            let person = person::authenticate(ctx, &by, Action::ManageAccounts).await?;
            let removed =
                target_admin::end_contract(ctx.store.as_ref(), &person, &vendor, &targets).await?;
            out.print(&removed, |r| {
                format!(
                    "vendor {vendor}: no longer contracted for {}\n{vendor} の契約対象から外しました: {}\n",
                    list(r),
                    list(r)
                )
            })
        }
        VendorTargetsCommand::List { vendor } => {
            let targets = target_admin::contracted(ctx.store.as_ref(), &vendor).await?;
            out.print(&targets, |ts| ts.iter().map(|t| format!("{t}\n")).collect())
        }
    }
}

fn list(targets: &[TargetName]) -> String {
    if targets.is_empty() {
        "nothing new / 変更なし".to_owned()
    } else {
        targets
            .iter()
            .map(TargetName::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
