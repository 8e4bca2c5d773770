//! The async pipeline's transport half: the [`pacer`] that spends Entra's quotas at the
//! rate Graph allows, and the [`dispatcher`] that packs ready requests from many users into
//! `$batch`es, sends them, and retries exactly the items that need it.

pub mod dispatcher;
pub mod pacer;
