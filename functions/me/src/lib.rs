//! gimbal-fn-me
