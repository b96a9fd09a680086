//! gimbal-campaigns
