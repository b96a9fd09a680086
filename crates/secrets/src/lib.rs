//! gimbal-secrets
