//! gimbal-fn-cron
