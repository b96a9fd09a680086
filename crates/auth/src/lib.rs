//! gimbal-auth
