//! Channel requests answered one for one, in order, each only if it asked for an answer
//! (RFC 4254 §5.4; issue 13).
//!
//! russh keeps a single "wants reply" flag per channel, set by each request as it arrives,
//! and its `channel_success`/`channel_failure` send an answer only while that flag is set.
//! An answer sent later, when the target has answered, lands on whatever request came last:
//! PuTTY sends `pty-req` and `shell` back to back, both wanting an answer, and the second
//! answer was lost (plink waited for ever); an `env` that wanted none, followed by `exec`,
//! got the `env`'s failure as the `exec`'s (`ssh -o SetEnv=…` said "exec request failed").
//!
//! So the answer is given where the flag is right: in the connection handler's callback
//! for that very request, before russh reads the next one. The bridge asks the target with
//! a reply for every request it forwards, and hands each answer — the target's, or its
//! own for what it decides itself (`env`, a refused work) — to the callback that waits for
//! it ([`ReplyWaiter::wait`]). russh then sends it only if the engineer asked. The bridge
//! always answers: the `want_reply` russh puts in a `ChannelMsg` is `true` for every request
//! and says nothing of what the engineer sent.
//!
//! The callback holds the connection's loop while it waits: the next request is read only
//! after this one's answer, which is what SSH's ordering asks of the server anyway. A target
//! that never answers costs [`REPLY_WAIT`]; the request is then refused and the channel's
//! later requests too.

use std::time::Duration;

use tokio::sync::mpsc;

/// How long a request waits for the target's answer.
pub const REPLY_WAIT: Duration = Duration::from_secs(30);

/// The bridge's side: answers, in the order the requests came.
#[derive(Debug)]
pub struct ReplySender(mpsc::UnboundedSender<bool>);

/// The connection handler's side, one per bridged channel.
#[derive(Debug)]
pub struct ReplyWaiter(mpsc::UnboundedReceiver<bool>);

/// A channel's answer path.
pub fn reply_path() -> (ReplySender, ReplyWaiter) {
    let (tx, rx) = mpsc::unbounded_channel();
    (ReplySender(tx), ReplyWaiter(rx))
}

impl ReplySender {
    /// The answer to the oldest request not yet answered.
    pub fn answer(&self, success: bool) {
        // The waiter is gone when the connection is: nobody to answer then.
        let _ = self.0.send(success);
    }
}

impl ReplyWaiter {
    /// The bridge's answer to the request just handed to it: `None` when the bridge ended
    /// without one or did not answer within [`REPLY_WAIT`] (the caller then drops the
    /// waiter, so a late answer can't be taken for a later request's).
    pub async fn wait(&mut self) -> Option<bool> {
        tokio::time::timeout(REPLY_WAIT, self.0.recv())
            .await
            .ok()
            .flatten()
    }

    /// Whether the bridge has ended (no answer can come any more).
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[tokio::test]
    async fn answers_come_in_order_and_end_with_the_bridge() {
        let (tx, mut rx) = reply_path();
        tx.answer(true);
        tx.answer(false);
        assert_eq!(rx.wait().await, Some(true));
        assert_eq!(rx.wait().await, Some(false));
        assert!(!rx.is_closed());
        drop(tx);
        assert!(rx.is_closed());
        assert_eq!(rx.wait().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_that_never_answers_costs_the_wait_only() {
        let (_tx, mut rx) = reply_path();
        assert_eq!(rx.wait().await, None);
    }
}
