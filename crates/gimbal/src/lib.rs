//! gimbal
