//! The async pipeline: the [`pacer`] that spends Entra's quotas at the rate Graph allows,
//! the [`dispatcher`] that packs ready requests from many users into `$batch`es, sends
//! them and retries exactly the items that need it, and what a run records per user
//! ([`outcome`]). A plan's reads of the tenant go through the same dispatcher ([`read`]).
//! A run holds its folder's [`lock`] throughout, writes every step to the fsynced
//! [`journal`], from which `resume` carries an interrupted run on, and writes each
//! Temporary Access Pass it issues to the private `secrets/tap.csv` ([`secrets`]). Before
//! any of it, [`preflight`] checks the passes a policy issues against the tenant's TAP
//! policy. The commands it prints for the operator to run next are quoted by [`hint`].
//! How long a plan's run takes, about, is [`estimate`]d from the pacer's budgets.
//! `mfa-reset restore` undoes a run as far as Graph allows ([`restore`]), from the state
//! the run kept in `secrets/restore.jsonl`.

pub mod containment;
pub mod dispatcher;
pub mod estimate;
pub mod hint;
pub mod journal;
pub mod lock;
pub mod outcome;
pub mod pacer;
pub mod preflight;
pub mod read;
pub mod restore;
pub mod run;
pub mod secrets;
pub mod settings;
