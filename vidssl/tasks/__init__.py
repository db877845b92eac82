"""Pretext and supervised tasks; each is one module composing planner, example builder, backbone, head and loss."""
