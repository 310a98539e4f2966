import{createRequire as __cr}from'module';const require=__cr(import.meta.url);
throw new Error("This SDK feature is not included in the grafana-credentials handler bundle");
