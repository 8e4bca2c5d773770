//! What to do to one user: the policy decisions of mfa-reset, pure and clock-free.
//!
//! The command line's policy flags ([`PolicyArgs`]) become a validated [`Policy`], which
//! goes into `plan.json` and, through [`Policy::fingerprint`], into the plan's hash. The
//! plan reads every user from Graph into a [`UserSnapshot`] and asks [`decide`](fn@decide) what to do
//! to them; the answer is a [`Decision`]: an ordered list of [`Step`]s (each one Graph
//! write) or the reason nothing is done. Nothing here touches the network, the file system
//! or the clock: the same policy and snapshot always give the same decision, which is what
//! lets a change board sign a plan and `apply` carry out exactly that plan.
//!
//! # Profiles and flags
//!
//! A `--profile` is a preset; explicit flags combine with it like this:
//!
//! | profile          | removes                                        | also             | order                                   |
//! |------------------|------------------------------------------------|------------------|-----------------------------------------|
//! | `device-refresh` | phone, microsoftAuthenticator, software and hardware OATH | — | TAP → remove methods → revoke  |
//! | `incident`       | every method but the password                  | revoke           | revoke → disable → TAP → remove methods |
//! | `offboard`       | every method but the password                  | disable, revoke  | disable → revoke → remove methods       |
//! | (none)           | what `--remove-methods` says                   | what flags say   | disable → revoke → TAP → remove methods |
//!
//! - `--remove-methods` **replaces** the profile's selection of method types; `--keep`
//!   **subtracts** from whichever selection applies. Naming one type in both is an error;
//!   `--remove-methods all --keep fido2` is fine.
//! - `--registered-after`, `--registered-before` and `--device-name` **narrow** the
//!   selection: a method goes only if it passes every filter given. A method the filter
//!   cannot judge (no creation time; no device name) is kept and flagged in the notes.
//! - `--revoke-sessions`, `--disable-account` and `--issue-tap` **add** to a profile; no
//!   flag takes a profile's action away. To do less than a profile, spell the flags out
//!   without it.
//! - The order is the profile's ([`Sequence`]); flags without a profile use
//!   [`Sequence::DisableRevokeRemove`]. A TAP comes just before the removals, so that a
//!   pass that cannot be issued withholds them; the disable comes before them too. The
//!   rules and their reasons are written at `decide`'s `assemble`.
//! - The password method is never removed, whatever the flags.
//! - A Temporary Access Pass goes only to an enabled account and, under a policy that
//!   removes methods, only to a user who loses one: a user who loses none signs in as
//!   before. A user left as they are is `no-change`, and its reason says why no pass is
//!   issued when the policy asks for one.
//!
//! # Why `device-refresh` removes what it removes
//!
//! `device-refresh` is the Graph equivalent of the portal's "Require re-register
//! multifactor authentication", which deletes phone numbers, Authenticator registrations
//! and software OATH tokens and deactivates hardware OATH tokens (here they are
//! unassigned, beta `hardwareOathMethods`: the user registers them again) — exactly the
//! method types that can be a user's default MFA method
//! ([`MethodType::can_be_default`](crate::wire::MethodType::can_be_default)). It keeps:
//!
//! - FIDO2 keys and Windows Hello for Business (the issue says so: they are not on the
//!   old phone). A passkey held in Microsoft Authenticator is a `fido2` method and is kept
//!   too; remove it explicitly (`--remove-methods fido2 --device-name ...`) if wanted.
//! - Platform credentials (macOS Platform SSO): device-bound like Windows Hello, on a Mac.
//! - Email: an SSPR recovery address, not an MFA method nor a device.
//! - External MFA methods and the QR code PIN: neither is on the old phone.
//! - An existing Temporary Access Pass: it is how a user whose phone methods were just
//!   removed enrols the new phone; deleting it could lock them out. It expires on its own,
//!   and when `--issue-tap` is given Graph replaces the usable one with the new pass.
//!
//! `incident` and `offboard` remove every method, email and any existing TAP included: an
//! attacker may have registered any of them, and a leaver needs none.
//!
//! # Ordering deletions
//!
//! Graph refuses to delete the default MFA method while another method that could be the
//! default remains, and refuses to delete the mobile phone while an alternate mobile phone
//! exists (`shared/reference/graph-api.md` §1.4). Deletions are therefore ordered:
//!
//! 1. methods that cannot be the default (an existing TAP first, as it is a sign-in
//!    credential on its own; then FIDO2, Windows Hello, email, platform credential);
//! 2. methods that can be the default but are not: software OATH, alternate mobile, office,
//!    mobile, Authenticator;
//! 3. the default method, when known, last of all.
//!
//! Where that is not enough — the default must stay behind a method that could be the
//! default and is kept (phones and Authenticator removed, an OATH token kept), or the
//! default is an alternate mobile phone that must go before the mobile — the plan first
//! re-points the default ([`Step::SetDefaultMethod`], beta `signInPreferences`) at a
//! method that stays (Authenticator, then an OATH token, then a phone), or else at the
//! method removed last. The deletions wait for it: if it fails they are withheld.
//!
//! When the default is unknown (Graph v1.0 does not expose it; the beta read may fail) the
//! same order applies with Authenticator last, as push is by far the most common default.
//! The apply engine defers a deletion Graph refuses because the method is the default and
//! retries it after the others, so an unknown default costs at most one extra request.
//! When the default is known, [`decide`](fn@decide) replays Graph's two rules over the snapshot,
//! re-points the default where that lets a deletion through, and withholds (and reports
//! as [`Decision::Blocked`]) any deletion that still can never succeed — for example a
//! mobile phone whose alternate mobile phone is kept.
//!
//! # Method types this tool does not know
//!
//! A method whose `@odata.type` is newer than this tool is read as
//! [`MethodType::Unknown`](crate::wire::MethodType::Unknown), labelled
//! `unknown (<@odata.type>)`, and never removed. Under a policy that removes every type
//! (`incident`, `offboard`, `--remove-methods all`) its holder is [`Decision::Blocked`]:
//! the other steps run, but the user is not called clean.
//!
//! # Guardrails
//!
//! - Excluded accounts (`--exclude`, such as break-glass accounts) are never touched.
//! - Holders of any directory role are [`Decision::Protected`] unless `--include-admins`.
//! - On-premises synced users cannot be disabled through Graph (AD masters
//!   `accountEnabled`). When the policy disables accounts, such a user is
//!   [`Decision::Blocked`]: sessions are still revoked (harmless, and urgent in an incident)
//!   but method removals are withheld — removing the MFA methods of an account that stays
//!   enabled would let whoever holds its password register their own.
//!
//! # The parts
//!
//! The files follow the data, from the flags to the steps:
//!
//! - `args`: [`PolicyArgs`], the flags as plain values, and their validation into a policy.
//! - `model`: [`Profile`], [`Sequence`], [`TapSettings`] and [`Policy`] with its serialised
//!   form, fingerprint and summary.
//! - `error`: [`PolicyError`], why flags (or a plan's policy) do not make a policy.
//! - `snapshot`: [`UserSnapshot`], [`MethodSnapshot`] and [`DefaultMethod`], what the plan
//!   read about a user, and the labels that name a method to a person.
//! - `decide`: [`decide`](fn@decide), its [`Decision`] and [`Step`]s, and which methods the policy
//!   selects.
//! - `order`: the order of a user's deletions, and the reason for each rule.
//! - `filters`: times and globs for `--registered-after`, `--registered-before` and
//!   `--device-name`.
//! - `serde_with`: how method and phone types are written in `plan.json`.
//! - [`permissions`]: the Graph application permissions a policy needs (least privilege),
//!   and the one a refused step was missing.
//!
//! The command-line flags themselves (names, help, parsing) live among the command line's
//! argument groups; nothing here depends on the parser.

mod args;
mod decide;
mod error;
mod filters;
mod model;
mod order;
pub mod permissions;
mod serde_with;
mod snapshot;
#[cfg(test)]
mod test_support;

pub use args::PolicyArgs;
pub use decide::{Decision, NOTHING_TO_CHANGE, Step, admin_roles_words, decide};
pub use error::PolicyError;
pub use filters::{glob_matches, parse_time};
pub use model::{
    DEVICE_REFRESH_REMOVES, Policy, Profile, Sequence, TAP_DEFAULT_LIFETIME_MINUTES,
    TAP_MAX_LIFETIME_MINUTES, TAP_MIN_LIFETIME_MINUTES, TapSettings,
};
pub(crate) use serde_with::method_type_name;
pub use snapshot::{DefaultMethod, MethodSnapshot, UserSnapshot, mask_phone};
