public enum ONNXModule {}
