//! Creates the table and queues for local / moto runs (in progress).
