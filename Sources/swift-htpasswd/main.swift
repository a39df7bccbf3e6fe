print("swift-htpasswd")
