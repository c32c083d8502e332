//! connect (in progress)
