//! gimbal-jobs
