//! What `fumidai plan` adds for personal data (R-10-2, §7 ②, §7.1): the take-out flags of
//! `plan submit` and the take-out in `plan show`. The rules are `policy::plan::personal`'s;
//! the checks at submission and approval are `fumidai_core::ops::plan_decision`'s.

use policy::plan::{Plan, TakeOut};

/// `plan submit`'s take-out flags (§7.1), required together when the plan declares personal
/// data and allows `download`.
#[derive(Debug, clap::Args)]
pub struct TakeOutArgs {
    /// Why personal data leaves (持ち出しの目的).
    #[arg(long, value_name = "TEXT", requires_all = ["take_out_count", "take_out_items", "take_out_storage"])]
    pub take_out_purpose: Option<String>,
    /// How many records or files leave (件数).
    #[arg(long, value_name = "N", requires = "take_out_purpose")]
    pub take_out_count: Option<u32>,
    /// Which items leave (項目).
    #[arg(long, value_name = "TEXT", requires = "take_out_purpose")]
    pub take_out_items: Option<String>,
    /// Where and how they are kept once out (持出し先での保存環境).
    #[arg(long, value_name = "TEXT", requires = "take_out_purpose")]
    pub take_out_storage: Option<String>,
}

impl TakeOutArgs {
    /// The take-out the flags describe, if any.
    pub fn take_out(self) -> Option<TakeOut> {
        match (
            self.take_out_purpose,
            self.take_out_count,
            self.take_out_items,
            self.take_out_storage,
        ) {
            (Some(purpose), Some(item_count), Some(items), Some(storage)) => Some(TakeOut {
                purpose,
                item_count,
                items,
                storage,
            }),
            _ => None,
        }
    }
}

/// `plan show`'s take-out lines.
pub(super) fn details(plan: &Plan) -> String {
    match &plan.take_out {
        Some(t) => format!(
            "持出し take-out: {}\n    件数 items counted: {}\n    項目 items: {}\n    \
             保存環境 storage: {}\n",
            t.purpose, t.item_count, t.items, t.storage
        ),
        None => String::new(),
    }
}
