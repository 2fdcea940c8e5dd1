//! placeholder
pub mod config;
pub mod describe;
pub mod event;
pub mod hash;
pub mod inbound;
pub mod mapping;
pub mod matching;
pub mod record;
pub mod transform;
pub mod types;
