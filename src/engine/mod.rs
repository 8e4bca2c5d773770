//! The async pipeline: the [`pacer`] that spends Entra's quotas at the rate Graph allows,
//! the [`dispatcher`] that packs ready requests from many users into `$batch`es, sends
//! them and retries exactly the items that need it, and what a run records per user
//! ([`outcome`]). A run holds its folder's [`lock`] throughout and writes every step to
//! the fsynced [`journal`], from which `resume` carries an interrupted run on.

pub mod dispatcher;
pub mod journal;
pub mod lock;
pub mod outcome;
pub mod pacer;
pub mod run;
