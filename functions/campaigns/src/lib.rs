//! gimbal-fn-campaigns
