throw "custom message here"
