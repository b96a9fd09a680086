//! gimbal-edge
