//! Deterministic demo data (fixed RNG seed).

use crate::error::EmulatorError;
use crate::state::State;

pub fn generate(_st: &mut State, _org: usize) -> Result<(), EmulatorError> {
    Ok(())
}
