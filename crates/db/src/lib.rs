//! gimbal-db
