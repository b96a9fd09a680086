//! gimbal-host
