//! The user index converges whatever order its messages arrive in: a login and a logout
//! at once, a family expiring while it registers.
//!
//! Each family sends `Register` (from the login's worker), maybe `Touch` (from a later
//! refresh) and maybe `Unregister` (from its object's deletion: logout, theft, expiry);
//! the user may "log out everywhere" once. These come from different objects and
//! isolates, so the index sees them in any order. Whatever the order, the index must end
//! listing exactly the families that have not ended and were not revoked, and must
//! refuse (so the worker revokes) any family the revoke-all covered.

use std::collections::HashSet;
use std::time::Duration;

use edge_session::config::Policy;
use edge_session::messages::UserCommand;
use edge_session::session::FamilyId;
use edge_session::time::Timestamp;
use edge_session::users::{FamilyEntry, UserIndex};
use proptest::prelude::*;

/// Time between two messages reaching the index.
const STEP_MS: u64 = 1_000;

#[derive(Debug, Clone)]
enum Message {
    Register(u8),
    Touch(u8),
    Unregister(u8),
    RevokeAll,
}

#[derive(Debug, Clone)]
struct FamilyPlan {
    ended: bool,
    touched: bool,
    /// How long before its first message the family was created (ms).
    created_before_ms: u64,
}

fn id(n: u8) -> FamilyId {
    FamilyId::from_bytes([n; 16])
}

fn scenario() -> impl Strategy<Value = (Vec<FamilyPlan>, Vec<Message>)> {
    let plan = (any::<bool>(), any::<bool>(), 1..STEP_MS).prop_map(|(ended, touched, created_before_ms)| FamilyPlan {
        ended,
        touched,
        created_before_ms,
    });
    (prop::collection::vec(plan, 1..7), any::<bool>()).prop_flat_map(|(plans, revoke_all)| {
        let mut messages = Vec::new();
        for (n, plan) in plans.iter().enumerate() {
            let n = n as u8;
            messages.push(Message::Register(n));
            if plan.touched {
                messages.push(Message::Touch(n));
            }
            if plan.ended {
                messages.push(Message::Unregister(n));
            }
        }
        if revoke_all {
            messages.push(Message::RevokeAll);
        }
        (Just(plans), Just(messages).prop_shuffle())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_order_converges((plans, messages) in scenario()) {
        let policy = Policy::default();
        let base = Timestamp::from_secs(1_700_000_000);
        let at = |k: usize| base + Duration::from_millis(STEP_MS * (k as u64 + 1));
        // A family exists before the first message about it is processed.
        let first = |n: u8| messages.iter().position(|m| matches!(m, Message::Register(x) | Message::Touch(x) | Message::Unregister(x) if *x == n)).unwrap();
        let created = |n: u8| Timestamp::from_millis(at(first(n)).as_millis() - plans[n as usize].created_before_ms);
        let revoked_at = messages.iter().position(|m| matches!(m, Message::RevokeAll)).map(at);

        let mut index = UserIndex::default();
        let mut revoked_by_caller = HashSet::new();
        for (k, message) in messages.iter().enumerate() {
            let command = match *message {
                Message::Register(n) => UserCommand::Register { entry: FamilyEntry::new(id(n), created(n), false, None, None) },
                Message::Touch(n) => UserCommand::Touch { family: id(n), at: at(k).as_millis(), device_bound: false },
                Message::Unregister(n) => UserCommand::Unregister { family: id(n), created_at: created(n).as_millis() },
                Message::RevokeAll => UserCommand::RevokeAll { except: None, token: None },
            };
            let handled = index.handle(command, at(k), &policy);
            revoked_by_caller.extend(handled.revoke.into_iter().map(|(f, _)| f));
            if let (Message::Register(n), false) = (message, handled.reply.accepted) {
                revoked_by_caller.insert(id(*n));
            }
        }

        let listed: HashSet<FamilyId> = index.live_families(at(messages.len()), &policy).iter().map(|e| e.family).collect();
        for (n, plan) in plans.iter().enumerate() {
            let family = id(n as u8);
            let covered = revoked_at.is_some_and(|cut| created(n as u8) <= cut);
            let should_list = !plan.ended && !covered;
            prop_assert_eq!(listed.contains(&family), should_list, "family {} (plan {:?})", n, plan);
            if covered && !plan.ended {
                prop_assert!(revoked_by_caller.contains(&family), "family {} survived log out everywhere", n);
            }
        }
    }
}
