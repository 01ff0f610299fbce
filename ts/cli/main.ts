console.log("wasmnet cli: coming");
