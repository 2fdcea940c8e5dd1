//! In-memory adapters with optional JSON persistence (in progress).
