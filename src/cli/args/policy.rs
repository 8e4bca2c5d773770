//! The policy flags of `plan` and `apply` (`--profile`, `--remove-methods`, ...): their
//! names, value names, help and parsing. [`PolicyFlags`] becomes the policy layer's plain
//! [`PolicyArgs`] through `From`, and [`PolicyArgs::into_policy`] validates it; this file
//! only says how the flags are spelled and read.

use clap::builder::{EnumValueParser, PossibleValue, TypedValueParser};

use crate::policy::{PolicyArgs, Profile};

/// The policy flags of `plan` (and of `apply` without a plan), as clap parses them.
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyFlags {
    /// Preset: device-refresh (remove phone, Authenticator, software and hardware OATH
    /// methods), incident
    /// (revoke sessions first, remove all methods) or offboard (disable, revoke, remove
    /// all methods). Other flags add to it; --remove-methods replaces its method selection.
    #[arg(
        long,
        value_name = "PROFILE",
        value_parser = EnumValueParser::<ProfileValue>::new().map(|p| p.0)
    )]
    pub profile: Option<Profile>,

    /// Method types to remove, comma-separated, or `all` (every method but the password):
    /// phone, microsoftAuthenticator, softwareOath, hardwareOath, fido2,
    /// windowsHelloForBusiness, email, temporaryAccessPass, platformCredential, external,
    /// qrCodePin. Replaces the profile's selection. Where Graph's rule on the default MFA
    /// method stands in the way, the default is first moved to a method that stays (or to
    /// the one removed last).
    #[arg(long, value_name = "TYPES|all", value_delimiter = ',')]
    pub remove_methods: Vec<String>,

    /// Method types never to remove, comma-separated; subtracted from the selection.
    #[arg(long, value_name = "TYPES", value_delimiter = ',')]
    pub keep: Vec<String>,

    /// Remove only methods created at or after TIME (RFC 3339, or a date meaning midnight
    /// UTC). Methods Graph gives no creation time (most Authenticator registrations, all
    /// phones) are kept and flagged.
    #[arg(long, value_name = "TIME")]
    pub registered_after: Option<String>,

    /// Remove only methods created before TIME (exclusive; RFC 3339, or a date meaning
    /// midnight UTC). Methods without a creation time are kept and flagged.
    #[arg(long, value_name = "TIME")]
    pub registered_before: Option<String>,

    /// Remove only methods whose device name matches GLOB (`*` any text, `?` one
    /// character, case-insensitive), e.g. "iPhone 12*". Methods naming no device (phones,
    /// email, OATH) are kept and flagged.
    #[arg(long, value_name = "GLOB")]
    pub device_name: Option<String>,

    /// Revoke the user's sign-in sessions (refresh tokens and session cookies).
    #[arg(long)]
    pub revoke_sessions: bool,

    /// Disable the account (cloud-only users; synced users are reported as blocked).
    #[arg(long)]
    pub disable_account: bool,

    /// Issue a Temporary Access Pass so the user can register anew. It is issued before
    /// any method is removed; a user whose pass cannot be issued keeps their methods. A
    /// run writes the passes only to DIR/secrets/tap.csv (mode 0600): user id and name,
    /// pass, startDateTime, lifetimeInMinutes, isUsableOnce and expiryDateTime (UTC).
    #[arg(long, help_heading = "Temporary Access Pass")]
    pub issue_tap: bool,

    /// With --issue-tap: the pass's lifetime in minutes (60 when not given), within the
    /// tenant's Temporary Access Pass policy (60 to 480 unless changed; 10 to 43200 at most).
    #[arg(long, value_name = "MIN", help_heading = "Temporary Access Pass")]
    pub tap_lifetime: Option<u32>,

    /// With --issue-tap: make the pass usable for one sign-in only.
    #[arg(long, help_heading = "Temporary Access Pass")]
    pub tap_once: bool,

    /// With --issue-tap: the pass becomes usable at TIME (RFC 3339, or a date meaning
    /// midnight UTC), which must be in the future; a pass issued before it works from TIME
    /// for --tap-lifetime minutes. Without it, a pass works as soon as it is issued.
    #[arg(long, value_name = "TIME", help_heading = "Temporary Access Pass")]
    pub tap_start: Option<String>,

    /// Also act on holders of admin roles (otherwise they are reported as protected).
    #[arg(long, help_heading = "Guardrails")]
    pub include_admins: bool,
}

impl From<PolicyFlags> for PolicyArgs {
    fn from(flags: PolicyFlags) -> PolicyArgs {
        let PolicyFlags {
            profile,
            remove_methods,
            keep,
            registered_after,
            registered_before,
            device_name,
            revoke_sessions,
            disable_account,
            issue_tap,
            tap_lifetime,
            tap_once,
            tap_start,
            include_admins,
        } = flags;
        PolicyArgs {
            profile,
            remove_methods,
            keep,
            registered_after,
            registered_before,
            device_name,
            revoke_sessions,
            disable_account,
            issue_tap,
            tap_lifetime,
            tap_once,
            tap_start,
            include_admins,
        }
    }
}

/// A [`Profile`] as a `--profile` value: its name ([`Profile::name`]) and the help
/// `--help` shows for it. The policy layer knows nothing of clap, hence this wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProfileValue(Profile);

impl clap::ValueEnum for ProfileValue {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            ProfileValue(Profile::DeviceRefresh),
            ProfileValue(Profile::Incident),
            ProfileValue(Profile::Offboard),
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self.0 {
            Profile::DeviceRefresh => {
                "A phone fleet was swapped: remove phone, Authenticator and software OATH \
                 methods (keep FIDO2 keys, Windows Hello, platform credentials, email and an \
                 existing TAP)"
            }
            Profile::Incident => {
                "A breach: revoke sessions first, then remove every method but the password"
            }
            Profile::Offboard => {
                "Leavers: disable the account, revoke sessions, remove every method but the \
                 password"
            }
        };
        Some(PossibleValue::new(self.0.name()).help(help))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// A command line holding only the policy flags, to test their parsing.
    #[derive(Debug, Parser)]
    struct Cli {
        /// The flags.
        #[command(flatten)]
        policy: PolicyFlags,
    }

    /// Parses policy flags as the command line would.
    fn parse(args: &[&str]) -> PolicyArgs {
        Cli::try_parse_from(std::iter::once("mfa-reset").chain(args.iter().copied()))
            .expect("flags parse")
            .policy
            .into()
    }

    #[test]
    fn clap_parses_profiles_and_refuses_unknown_ones() {
        assert_eq!(
            parse(&["--profile", "device-refresh"]).profile,
            Some(Profile::DeviceRefresh)
        );
        assert!(Cli::try_parse_from(["mfa-reset", "--profile", "wipe"]).is_err());
        assert!(Cli::try_parse_from(["mfa-reset", "--tap-lifetime", "-5"]).is_err());
        assert_eq!(parse(&[]), PolicyArgs::default());
    }

    #[test]
    fn every_policy_flag_reaches_the_policy_arguments() {
        let parsed = parse(&[
            "--profile=incident",
            "--remove-methods",
            "phone,fido2",
            "--remove-methods=email",
            "--keep",
            "fido2",
            "--registered-after",
            "2026-01-01",
            "--registered-before=2026-02-01T00:00:00Z",
            "--device-name",
            "iPhone 12*",
            "--revoke-sessions",
            "--disable-account",
            "--issue-tap",
            "--tap-lifetime",
            "120",
            "--tap-once",
            "--tap-start",
            "2026-12-01T08:00:00+01:00",
            "--include-admins",
        ]);
        let expected = PolicyArgs {
            profile: Some(Profile::Incident),
            remove_methods: vec!["phone".into(), "fido2".into(), "email".into()],
            keep: vec!["fido2".into()],
            registered_after: Some("2026-01-01".into()),
            registered_before: Some("2026-02-01T00:00:00Z".into()),
            device_name: Some("iPhone 12*".into()),
            revoke_sessions: true,
            disable_account: true,
            issue_tap: true,
            tap_lifetime: Some(120),
            tap_once: true,
            tap_start: Some("2026-12-01T08:00:00+01:00".into()),
            include_admins: true,
        };
        assert_eq!(parsed, expected);
    }
}
