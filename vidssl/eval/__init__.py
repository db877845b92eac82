"""Evaluation: classification and retrieval, label propagation with DAVIS J&F, tracking head."""
