package io.pastaserve.worker;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** A decoder worker: decodes the spans it is given in one shared batch on ONNX Runtime. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class DecoderWorkerApplication {

  public static void main(String[] args) {
    SpringApplication.run(DecoderWorkerApplication.class, args);
  }
}
