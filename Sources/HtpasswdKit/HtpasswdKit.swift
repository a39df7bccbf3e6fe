/// Reading, verifying and writing Apache/nginx htpasswd files.
public enum HtpasswdKitModule {}
